/*
 * Constants shared by probe_linux_amd64.c and probe_linux.go (through cgo).
 */
#ifndef FENCER_KERNEL_PROBE_H
#define FENCER_KERNEL_PROBE_H

/* The environment variable that turns a process into a prober. */
#define PROBE_ENV "FENCER_KERNEL_PROBE"
#define PROBE_ENV_VALUE "1"

/* First word of a request and of an answer ("FNCRKP01"). */
#define PROTO_MAGIC 0x31305048524e4346ULL

/* A program longer than this cannot be described by struct sock_fprog. */
#define MAX_INSNS 65535
#define MAX_CALLS (1 << 20)

/* struct call flags */
#define CALL_COMPAT 1
/* First check that the kernel runs seccomp filters for the call's arch and
 * number at all (see check_filtered in probe_linux_amd64.c). */
#define CALL_CHECK 2

/* 64-bit words per answer record (struct record). */
#define REC_WORDS 18

/* A child that neither reports nor dies within CHILD_TIMEOUT_MS reports a
 * timeout; one still alive after PARENT_TIMEOUT_MS is killed. */
#define CHILD_TIMEOUT_MS 2000
#define PARENT_TIMEOUT_MS 5000

/* What the probe thread reports (record.pstate). */
enum { PS_NONE, PS_RETURNED, PS_TRAPPED, PS_NNP_FAILED, PS_SHIELD_FAILED, PS_PROGRAM_FAILED };
/* What the child's main thread reports (record.mstate). */
enum { MS_NONE, MS_PASSED, MS_THREAD_DIED, MS_TIMEOUT, MS_SETUP_FAILED };
/* How P ran the call (record.how). */
enum { HOW_RAN, HOW_SKIPPED, HOW_PARENT_TIMEOUT, HOW_OUTER_FILTER, HOW_UNFILTERED, HOW_CHECK_FAILED };

int fencer_kernel_probe_abi(void);

#endif
