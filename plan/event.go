package plan

// Step is where a host is in a run of plan, apply, destroy or verify: what
// progress shows while hosts are worked on in parallel.
type Step int

// Steps, in the order a host goes through them.
const (
	// StepConnecting: opening the host (connecting to it over SSH) and
	// reading its facts.
	StepConnecting Step = iota
	// StepPlanning: reading its files and compiling its services.
	StepPlanning
	// StepPlanned: its plan is made.
	StepPlanned
	// StepLocking: taking its lock.
	StepLocking
	// StepApplying: writing or removing file Event.Done of Event.Total.
	StepApplying
	// StepReloading: systemd-analyze verify and systemctl daemon-reload.
	StepReloading
	// StepVerifying: verify reads the host's files, units and processes.
	StepVerifying
	// StepDone: the host is done, successfully.
	StepDone
	// StepFailed: the host failed (Event.Err says why); the others go on.
	StepFailed
)

var stepNames = [...]string{"connecting", "planning", "planned", "locking", "applying", "reloading", "verifying", "done", "failed"}

// String is the step in words: "connecting", "applying", ...
func (s Step) String() string {
	if s >= 0 && int(s) < len(stepNames) {
		return stepNames[s]
	}
	return "unknown"
}

// Final reports whether the host is done or failed.
func (s Step) Final() bool { return s == StepDone || s == StepFailed }

// Event is one host reaching a step.
type Event struct {
	Host string
	Step Step
	// Done and Total count the files while applying: Done of Total is
	// being written or removed.
	Done, Total int
	// Err says why the host failed (StepFailed).
	Err string
}
