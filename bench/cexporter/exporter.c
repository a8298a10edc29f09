/*
 * The bench's C exporter: what `fencer export bpf` does for a policy of
 * unconditional allows, with libseccomp. Usage: exporter NAMES-FILE LEVEL
 * reads one syscall name per line, allows each, kills the process on
 * anything else (and on another architecture), and writes the program
 * (seccomp_export_bpf) at optimization level LEVEL to stdout.
 */
#include <seccomp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: exporter NAMES-FILE LEVEL\n");
		return 2;
	}
	FILE *in = fopen(argv[1], "r");
	if (!in) {
		perror(argv[1]);
		return 1;
	}
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!ctx || seccomp_attr_set(ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, atoi(argv[2])) < 0) {
		fprintf(stderr, "exporter: cannot set up the filter\n");
		return 1;
	}
	char name[128];
	while (fgets(name, sizeof name, in)) {
		name[strcspn(name, "\n")] = 0;
		int nr = seccomp_syscall_resolve_name(name);
		if (nr == __NR_SCMP_ERROR) {
			fprintf(stderr, "exporter: unknown syscall %s\n", name);
			return 1;
		}
		if (seccomp_rule_add(ctx, SCMP_ACT_ALLOW, nr, 0) < 0) {
			fprintf(stderr, "exporter: cannot allow %s\n", name);
			return 1;
		}
	}
	if (seccomp_export_bpf(ctx, 1) < 0) {
		fprintf(stderr, "exporter: seccomp_export_bpf failed\n");
		return 1;
	}
	seccomp_release(ctx);
	return 0;
}
