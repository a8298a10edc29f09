package plan

import (
	"fmt"
	"path"
	"strings"

	"github.com/fencer-dev/fencer/plan/unittext"
)

// Override is a host file or setting that undoes part of what fencer
// installs for a service: plan refuses the host with it, and a plan made
// for verify records it (ServicePlan.Overrides), which verify reports as
// drift. Its Kind says what it does, and the fields that kind uses say to
// what; Problem says it in words, which both plan's refusal and verify's
// finding quote.
type Override struct {
	Kind OverrideKind `json:"kind"`
	// Path is the host file the override is, or for OverrideSandbox the
	// file of fencer's that the setting hides.
	Path string `json:"path"`
	// Unit is the service unit concerned.
	Unit string `json:"unit,omitempty"`
	// Own is fencer's file that the override replaces, shadows or masks
	// (a drop-in, a unit file, a socket unit).
	Own string `json:"own,omitempty"`
	// LinkTo is where a link points: the unit an alias names
	// (OverrideSocketAlias), the target of a link that masks
	// (OverrideSocketMasked; "" for an empty file).
	LinkTo string `json:"link_to,omitempty"`
	// Reads is the file systemd reads instead of Own
	// (OverrideSocketAlias).
	Reads string `json:"reads,omitempty"`
	// Settings are the settings of fencer's drop-in that a later drop-in
	// assigns ("SystemCallFilter="; OverrideDropInSettings).
	Settings []string `json:"settings,omitempty"`
	// Setting, Value, File and Line are the unit's setting that makes the
	// override: its key ("Sockets"), its value, and where it is assigned.
	Setting string `json:"setting,omitempty"`
	Value   string `json:"value,omitempty"`
	File    string `json:"file,omitempty"`
	Line    int    `json:"line,omitempty"`
	// Fd and FdNumber are the policy's first numbered fd, whose number a
	// foreign socket would change (OverrideSockets, OverrideSocketFeeds).
	Fd       string `json:"fd,omitempty"`
	FdNumber int    `json:"fd_number,omitempty"`
	// Feed says how another socket unit comes to start the service
	// (OverrideSocketFeeds).
	Feed *Feed `json:"feed,omitempty"`
	// Sandbox says what the setting does to fencer's file at Path
	// (OverrideSandbox).
	Sandbox *Sandboxed `json:"sandbox,omitempty"`
}

// OverrideKind says what an override does.
type OverrideKind string

// What overrides do.
const (
	// OverrideDropInName: a drop-in with the name of fencer's (Own)
	// earlier on the unit search path, which systemd reads instead.
	OverrideDropInName OverrideKind = "drop-in name"
	// OverrideDropInSettings: a drop-in that sorts after fencer's and
	// assigns Settings of it.
	OverrideDropInSettings OverrideKind = "drop-in settings"
	// OverrideUnitFileShadowed: a unit file earlier on the unit search
	// path than the unit_file fencer installs at Own.
	OverrideUnitFileShadowed OverrideKind = "unit file shadowed"
	// OverrideUnitMasked: Unit is masked at Path, where fencer would
	// install its unit_file.
	OverrideUnitMasked OverrideKind = "unit masked"
	// OverrideSocketMasked: Path masks fencer's socket unit Own (an
	// empty file, or a link to LinkTo), so Unit cannot start.
	OverrideSocketMasked OverrideKind = "socket masked"
	// OverrideSocketAlias: the link at Path makes the name of fencer's
	// socket unit Own an alias of LinkTo, whose file Reads systemd
	// reads instead.
	OverrideSocketAlias OverrideKind = "socket alias"
	// OverrideSocketShadowed: a socket unit with the name of fencer's
	// (Own) earlier on the unit search path.
	OverrideSocketShadowed OverrideKind = "socket shadowed"
	// OverrideSocketDropIn: a drop-in of fencer's socket unit that sets
	// Setting at Line, which changes the fds Unit gets.
	OverrideSocketDropIn OverrideKind = "socket drop-in"
	// OverrideSockets: Sockets=Value at Line of Path, which passes Unit
	// other fds before fencer's.
	OverrideSockets OverrideKind = "sockets"
	// OverrideSocketFeeds: the socket unit at Path passes its fds to
	// Unit too (Feed says how).
	OverrideSocketFeeds OverrideKind = "socket feeds"
	// OverrideSandbox: the unit's Setting hides fencer's file at Path
	// from the service, or puts something else in its place (Sandbox).
	OverrideSandbox OverrideKind = "sandbox"
)

// Feed says how a socket unit comes to start a service, and so to pass it
// its fds.
type Feed struct {
	How FeedKind `json:"how"`
	// Service is the name of the service it starts (the unit's own, or
	// an alias of AliasOf).
	Service string `json:"service"`
	AliasOf string `json:"alias_of,omitempty"`
	// Where is the FILE:LINE of the Service= that names it (FeedService,
	// FeedPattern), and Value that Service= as written (FeedPattern).
	Where string `json:"where,omitempty"`
	Value string `json:"value,omitempty"`
	// Ignored is a Service= systemd ignores, and IgnoredWhere its
	// FILE:LINE (FeedName, FeedTemplate).
	Ignored      string `json:"ignored,omitempty"`
	IgnoredWhere string `json:"ignored_where,omitempty"`
	// Socket is the socket unit, a template, whose instances the pattern
	// may name the service for, and HostSpecifiers the specifiers of the
	// pattern a host decides ("%H"), "" when only the instance varies
	// (FeedPattern).
	Socket         string `json:"socket,omitempty"`
	HostSpecifiers string `json:"host_specifiers,omitempty"`
}

// FeedKind says how a socket unit names the service it starts.
type FeedKind string

// How socket units name services.
const (
	// FeedService: its Service= names the service.
	FeedService FeedKind = "service"
	// FeedName: it has the service's name and no Service=.
	FeedName FeedKind = "name"
	// FeedTemplate: it is a template whose instance of the service's name
	// has no Service=.
	FeedTemplate FeedKind = "template"
	// FeedPattern: its Service= has specifiers, and names the service on
	// some host or for some instance.
	FeedPattern FeedKind = "pattern"
)

// Sandboxed is what a sandboxing setting of the unit does to one of
// fencer's files the service needs at start.
type Sandboxed struct {
	// Of is which of fencer's files: "loader" or "filter".
	Of string `json:"of"`
	// Effect is what the setting does there: "hidden" (an empty or
	// inaccessible directory), "other" (other files over it),
	// "noexec" (it cannot be executed), "root" (the service has a root
	// directory of its own, into which it is not bound).
	Effect string `json:"effect"`
	// Maybe is set when the setting may do it, or not: a system
	// extension puts only the files it has, and a path with Unknown
	// specifiers ("%h") may be anywhere.
	Maybe   bool   `json:"maybe,omitempty"`
	Unknown string `json:"unknown,omitempty"`
}

// Problem says what the override does, and what to do about it, for
// people: plan's refusal and verify's finding quote it.
func (o Override) Problem() string {
	switch o.Kind {
	case OverrideDropInName:
		return fmt.Sprintf("it has the name of fencer's drop-in and systemd reads it instead of fencer's %s; remove it", o.Own)
	case OverrideDropInSettings:
		return fmt.Sprintf("this drop-in sets %s and sorts after fencer's %s, so systemd applies it over fencer's settings; rename it to sort before %s, or remove those settings",
			strings.Join(o.Settings, ", "), unittext.DropInName, unittext.DropInName)
	case OverrideUnitFileShadowed:
		return fmt.Sprintf("this unit file comes earlier on the unit search path than the unit_file fencer installs at %s, so systemd reads it instead and fencer's has no effect (its Sockets=, ExecStart= and the rest); remove it", o.Own)
	case OverrideUnitMasked:
		return fmt.Sprintf("unit %s is masked: this file is empty or a link to /dev/null, and fencer would replace it with the unit_file; unmask the unit first (systemctl unmask %s), or do not plan the service for this host", o.Unit, o.Unit)
	case OverrideSocketMasked:
		how := "is empty"
		if o.LinkTo != "" {
			how = "is a link to " + o.LinkTo
		}
		return fmt.Sprintf("it %s and comes earlier on the unit search path: it masks fencer's socket unit %s, so systemd does not load it and %s cannot start; remove it", how, o.Own, o.Unit)
	case OverrideSocketAlias:
		return fmt.Sprintf("this link makes %s an alias of %s, so systemd reads %s instead of fencer's %s (and passes its fds to %s); remove it",
			path.Base(o.Own), o.LinkTo, o.Reads, o.Own, o.Unit)
	case OverrideSocketShadowed:
		return fmt.Sprintf("it has the name of fencer's socket unit and comes earlier on the unit search path: systemd reads it instead of fencer's %s (and passes its fds to %s); remove it", o.Own, o.Unit)
	case OverrideSocketDropIn:
		return fmt.Sprintf("line %d sets %s= for fencer's socket unit %s, which changes the fds %s gets, so fencer cannot guarantee the fd numbers of the policy; remove the setting",
			o.Line, o.Setting, unittext.SocketUnit(o.Unit), o.Unit)
	case OverrideSockets:
		return fmt.Sprintf("line %d sets Sockets=%s: systemd passes the fds of those socket units to %s before fencer's, and no later assignment can remove them (Sockets= adds up; an empty one does not reset it), so %s; remove the setting",
			o.Line, o.Value, o.Unit, o.guarantee())
	case OverrideSocketFeeds:
		return fmt.Sprintf("this socket unit passes its fds to %s too (%s), so %s; remove it, or point its Service= at another unit", o.Unit, o.Feed.words(), o.guarantee())
	case OverrideSandbox:
		return o.sandboxProblem()
	}
	return fmt.Sprintf("%s (%s)", o.Kind, o.Path)
}

// guarantee says what a foreign socket unit breaks.
func (o Override) guarantee() string {
	return fmt.Sprintf("fencer cannot guarantee the fd numbers of the policy (fd %q is to be %d)", o.Fd, o.FdNumber)
}

// words says how the socket unit names the service.
func (f *Feed) words() string {
	if f == nil {
		return ""
	}
	alias := ""
	if f.AliasOf != "" {
		alias = ", an alias of " + f.AliasOf
	}
	switch f.How {
	case FeedService:
		return fmt.Sprintf("its Service= (%s) names %s%s", f.Where, f.Service, alias)
	case FeedPattern:
		on := "for an instance of " + f.Socket
		if f.HostSpecifiers != "" {
			on = "on a host whose " + f.HostSpecifiers + " makes it so"
		}
		return fmt.Sprintf("its Service= (%s) is %s, which names %s %s%s", f.Where, f.Value, f.Service, on, alias)
	}
	why := fmt.Sprintf("it has the name of %s and no Service=", f.Service)
	if f.How == FeedTemplate {
		why = fmt.Sprintf("it is a template whose instance of the name of %s has no Service=", f.Service)
	}
	if f.Ignored != "" {
		why += fmt.Sprintf(" that systemd accepts (it ignores Service=%s at %s)", f.Ignored, f.IgnoredWhere)
	}
	return why + ", so it starts that service" + alias
}

// sandboxFixes say, by setting, what to do about a sandboxing setting
// that hides fencer's files.
var sandboxFixes = map[string]string{
	"DynamicUser":          "keep fencer_path and the filter out of /tmp and /var/tmp",
	"PrivateTmp":           "keep fencer_path and the filter out of /tmp and /var/tmp",
	"ProtectHome":          "keep fencer_path and the filter out of /home, /root and /run/user, or use ProtectHome=read-only",
	"TemporaryFileSystem":  "bind the path back with BindReadOnlyPaths=, or keep fencer's files out of it",
	"InaccessiblePaths":    "keep fencer's files out of the inaccessible path",
	"BindPaths":            "bind the host's own path there, or keep fencer's files out of it",
	"BindReadOnlyPaths":    "bind the host's own path there, or keep fencer's files out of it",
	"NoExecPaths":          "allow executing the loader with ExecPaths=, or put fencer_path elsewhere",
	"ExecPaths":            "allow executing the loader with ExecPaths=, or put fencer_path elsewhere",
	"ExtensionDirectories": "keep fencer_path out of /usr and /opt, or remove the setting",
	"ExtensionImages":      "keep fencer_path out of /usr and /opt, or remove the setting",
	"MountImages":          "keep fencer's files out of the image's mount point",
	"RootDirectory":        "bind the loader and the filter into it in place with BindReadOnlyPaths=PATH",
	"RootImage":            "bind the loader and the filter into it in place with BindReadOnlyPaths=PATH",
}

// sandboxOthers say, by setting, what it puts over a path.
var sandboxOthers = map[string]string{
	"BindPaths": "another host path", "BindReadOnlyPaths": "another host path",
	"MountImages":          "an image's files",
	"ExtensionDirectories": "a system extension's files", "ExtensionImages": "a system extension's files",
}

// sandboxProblem says what a sandboxing setting does to fencer's file.
func (o Override) sandboxProblem() string {
	s := o.Sandbox
	if s == nil {
		return ""
	}
	what := "the " + s.Of
	why := fmt.Sprintf("%s=%s (%s:%d)", o.Setting, o.Value, o.File, o.Line)
	if o.Setting == "DynamicUser" {
		why += ", which implies PrivateTmp=yes,"
	}
	// Without the file the service does not start; over the loader,
	// other files may start it unfiltered (the loader refuses a filter
	// that is not the planned one).
	then := "so systemd could not start the service (status 203/EXEC) or the loader would refuse to"
	if s.Effect == "other" && s.Of == "loader" {
		then = "so the service would start through whatever program is there instead of fencer's loader, without the planned filter, or not at all (status 203/EXEC)"
	}
	var does string
	switch s.Effect {
	case "root":
		does = "gives the service a root directory of its own, into which " + what + " (" + o.Path + ") is not bound"
	case "hidden":
		does = "hides " + what + " (" + o.Path + ") from the service"
	case "other":
		does = "puts " + sandboxOthers[o.Setting] + " over " + what + " (" + o.Path + ") for the service"
	default:
		does = "forbids the service to execute " + what + " (" + o.Path + ")"
	}
	if s.Maybe {
		does = "may " + strings.Replace(does, "s ", " ", 1)
		if s.Unknown != "" {
			does += " (fencer cannot tell where " + s.Unknown + " is on the host; write the path out)"
		}
	}
	return fmt.Sprintf("%s %s, %s: %s", why, does, then, sandboxFixes[o.Setting])
}
