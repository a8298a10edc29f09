package firedancer

import (
	"math/rand"
	"testing"

	"github.com/fencer-dev/fencer/internal/bpf"
	"github.com/fencer-dev/fencer/internal/policy"
)

// generatedSizes are the instruction counts of the C headers Firedancer's
// generator made of the corpus (sock_filter_policy_NAME_instr_cnt in
// <dir>/generated/NAME_seccomp.h at commit 178b48fe), 2,328 in all.
var generatedSizes = map[string]int{
	"fd_accdb_tile":  48,
	"fd_admin_tile":  17,
	"fd_bundle_tile": 137,
	"fd_dedup_tile":  17,
	"fd_diag_tile":   48,
	"fd_event_tile":  137,
	"fd_execle_tile": 39,
	"fd_execrp_tile": 39,
	"fd_genesi_tile": 114,
	"fd_gossip_tile": 17,
	"fd_gossvf_tile": 17,
	"fd_gui_tile":    84,
	"fd_guih_tile":   71,
	"fd_ipecho_tile": 73,
	"fd_metric_tile": 60,
	"fd_pack_tile":   17,
	"fd_plugin_tile": 17,
	"fd_poh_tile":    22,
	"fd_repair_tile": 17,
	"fd_replay_tile": 41,
	"fd_resolv_tile": 27,
	"fd_rpc_tile":    76,
	"fd_rserve_tile": 32,
	"fd_shred_tile":  17,
	"fd_sign_tile":   17,
	"fd_snapct_tile": 187,
	"fd_snapdc_tile": 22,
	"fd_snapin_tile": 29,
	"fd_snapld_tile": 105,
	"fd_snapmk_tile": 98,
	"fd_snaprd_tile": 32,
	"fd_snapsv_tile": 38,
	"fd_snapwr_tile": 27,
	"fd_snapzp_tile": 39,
	"fd_sock_tile":   42,
	"fd_solcap_tile": 44,
	"fd_tower_tile":  48,
	"fd_txsend_tile": 23,
	"fd_verify_tile": 17,
	"fd_votor_tile":  18,
	"fd_xdp_tile":    60,
	"main":           34,
	"monitor":        43,
	"monitor_gossip": 27,
	"netlink":        63,
	"pidns":          34,
	"pidns_arm64":    30,
	"quic":           20,
	"test_sandbox":   18,
	"watch":          29,
}

// TestGenerated checks that Generated lays out Firedancer's programs with
// the sizes of Firedancer's own headers, that the kernel would load them,
// and that they decide as Filter.Decide: two readings of the generator
// that agree.
func TestGenerated(t *testing.T) {
	corpus, err := ReadCorpus(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, c := range corpus {
		for i, a := range c.Arches {
			prog, err := Generated(c.Policy, a, c.Params)
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				total += len(prog)
			}
			if want := generatedSizes[c.Policy.Name]; len(prog) != want {
				t.Errorf("%s on %s: %d instructions, Firedancer's header has %d", c.Policy.Name, a.Name, len(prog), want)
			}
			vm, err := bpf.NewVM(prog, a.Order)
			if err != nil {
				t.Fatalf("%s on %s: %v", c.Policy.Name, a.Name, err)
			}
			fd, err := NewFilter(c.Policy, a, c.Params)
			if err != nil {
				t.Fatal(err)
			}
			g := newCallGen(fd, a, rand.New(rand.NewSource(int64(total))))
			for n := 0; n < *inputs; n++ {
				d := g.call()
				data := bpf.MakeData(d.Nr, d.Arch, d.IP, d.Args, a.Order)
				if got, want := policy.ActionFromRet(vm.Run(data[:], bpf.Options{}).Ret), fd.Decide(d); got != want {
					t.Fatalf("%s on %s: nr %d arch %#x args %#x: program %s, Decide %s", c.Policy.Name, a.Name, d.Nr, d.Arch, d.Args, got, want)
				}
			}
		}
	}
	if total != 2328 {
		t.Errorf("%d instructions in all, Firedancer's headers have 2,328", total)
	}
}
