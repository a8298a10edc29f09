package e2e

import (
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/fencer-dev/fencer/internal/usermanager"
)

// BenchmarkAcceptThroughput measures what the filter costs the real
// programs of the acceptance tests: Debian's redis-server under
// redis-benchmark and nginx under ab, each as three units of one user
// manager — without a filter, under the hand-written policy of
// e2e/testdata/accept and under the policy fencer record wrote from its
// workload — whose workloads run in turn, in a rotating order, for
// -rounds rounds (-benchtime 1x: one benchmark iteration is the whole
// measurement). It reports the median requests per second of each and the
// ratio of each filtered one to the unfiltered one (1 is no cost). Not
// asserted: the figures depend on the machine and its load.
//
//	go test -run '^$' -bench BenchmarkAcceptThroughput -benchtime 1x ./e2e
func BenchmarkAcceptThroughput(b *testing.B) {
	for _, kind := range []string{"redis", "nginx"} {
		b.Run(kind, func(b *testing.B) {
			benchDaemon(b, kind)
		})
	}
}

// benchRequests is the requests of each kind per workload run: redis's
// workload runs 8 commands, nginx's fetches the page 1.5 times that and a
// missing page a tenth of it.
var benchRequests = map[string]int{"redis": 4000, "nginx": 10000}

// benchRounds is how many times each unit's workload runs.
const benchRounds = 5

func benchDaemon(b *testing.B, kind string) {
	need(b, hostArch() == "x86_64", "the policies are written for x86_64, not %s", hostArch())
	um := usermanager.Start(b)
	fencer, _ := binaries(b)
	plain := newDaemon(b, um, kind, kind+"-plain.service")
	hand := newDaemon(b, um, kind, kind+".service")
	rec := newDaemon(b, um, kind, kind+"-recorded.service")
	recorded := recordDaemon(b, rec, fencer)
	for _, x := range []struct {
		d *daemon
		p acceptPolicy
	}{{hand, handWritten(b, hand)}, {rec, recorded}} {
		pd := installPolicy(b, um, fencer, x.p)
		if r := pd.run(true, "apply", "-auto-approve"); r.code != 0 {
			b.Fatalf("apply %s:\n%s", x.p.name, r)
		}
	}
	units := []*daemon{plain, hand, rec}
	names := []string{"unfiltered", "hand-written", "recorded"}
	for _, d := range units {
		d.start()
		d.workload(benchRequests[kind] / 10) // warm-up
	}
	if mode, _ := plain.seccompStatus(); mode != "0" {
		b.Fatalf("the unfiltered unit runs in seccomp mode %s", mode)
	}
	for _, d := range units[1:] {
		if mode, _ := d.seccompStatus(); mode != "2" {
			b.Fatalf("%s runs in seccomp mode %s, want a filter", d.unit, mode)
		}
	}
	rps := make([][]float64, len(units))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		for round := 0; round < benchRounds; round++ {
			for k := range units {
				j := (k + round) % len(units)
				w := units[j].workload(benchRequests[kind])
				if w.Failed > 0 {
					b.Fatalf("%s: %d of %d requests failed:\n%s", units[j].unit, w.Failed, w.Requests, strings.Join(w.Detail, "\n"))
				}
				rps[j] = append(rps[j], w.RPS)
			}
		}
	}
	b.StopTimer()
	med := make([]float64, len(units))
	for j := range units {
		med[j] = median(rps[j])
		b.ReportMetric(med[j], names[j]+"-req/s")
		b.Logf("%s %s: %s requests/s (median %.0f)", kind, names[j], fmtRates(rps[j]), med[j])
	}
	b.ReportMetric(med[1]/med[0], "hand-written/unfiltered")
	b.ReportMetric(med[2]/med[0], "recorded/unfiltered")
	for _, d := range units {
		if s := d.stop(); s["Result"] != "success" {
			b.Errorf("%s stopped: %s", d.unit, s)
		}
	}
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func fmtRates(v []float64) string {
	var parts []string
	for _, x := range v {
		parts = append(parts, fmt.Sprintf("%.0f", x))
	}
	return strings.Join(parts, " ")
}
