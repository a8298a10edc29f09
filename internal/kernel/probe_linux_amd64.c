//go:build cgo

/*
 * Kernel probes for seccomp BPF programs: the C half of package kernel.
 *
 * probe_constructor runs before main() (and so before the Go runtime) in
 * every binary that links the package. When FENCER_KERNEL_PROBE is set to
 * PROBE_ENV_VALUE it reads a request on stdin, runs it, writes the answer
 * on stdout and _exits: the Go runtime never starts in that process (call it
 * P). Otherwise it returns at once.
 *
 * Request (native byte order, 64-bit words):
 *   magic, ninsns, ncalls, ninsns struct sock_filter,
 *   ncalls x { nr, flags (CALL_COMPAT, CALL_CHECK), args[6] }.
 * Answer:
 *   magic, load (0 or the errno the kernel refused the program with),
 *   compat (0: not needed, 1: int $0x80 works, 2: it does not),
 *   outer (1 if this process already runs under a seccomp filter),
 *   ncalls records of REC_WORDS words (see struct record); none if load != 0.
 *
 * Each call is probed in a child of P forked for it, with two threads:
 *
 *   probe thread: no_new_privs; installs the shield (below) with a user
 *     notification listener; wakes the main thread; installs the program
 *     under test; makes the call. Once it has an outcome it stores it in
 *     the shared page and executes ud2, so that SIGILL ends the whole
 *     child: it makes no syscall the shield does not expect.
 *   main thread (unfiltered): waits for the shield, then polls the listener.
 *     A notification means the program let the call through (the shield
 *     caught it, blocked in the kernel, never executed): it records what the
 *     kernel saw and exits. The probe thread gone without SIGILL (its tid
 *     cleared by CLONE_CHILD_CLEARTID) means SECCOMP_RET_KILL_THREAD.
 *
 * P reads the outcome from how the child ended plus the shared page:
 *   exit 0, main thread says PASSED or THREAD_DIED;
 *   SIGILL, probe thread says RETURNED (ERRNO: the return value) or TRAPPED;
 *   SIGSYS with no outcome recorded: SECCOMP_RET_KILL_PROCESS.
 *
 * The shield returns SECCOMP_RET_USER_NOTIF for every syscall but two: the
 * futex wake of the main thread and the installation of the program under
 * test, each matched on nr, arch, its exact arguments and the address of
 * its own syscall instruction, which no probed call can share. The kernel
 * runs every filter and keeps the action of highest precedence
 * (KILL_PROCESS > KILL_THREAD > TRAP > ERRNO > USER_NOTIF > TRACE > LOG >
 * ALLOW; the newest filter's among equals): so when the program says ALLOW
 * or LOG the shield's notification wins and the call does not run, and
 * every stronger action of the program wins over the shield's.
 *
 * The shield notifies rather than returning ERRNO(4095) so that every
 * errno the program may return (4095 and the values the kernel caps to it
 * included) stays distinct from "passed", and so that the actions hidden by
 * the shield are only TRACE and unknown values ranking below USER_NOTIF.
 *
 * All of this holds only for calls the kernel filters at all. Linux exempts
 * a few syscalls from seccomp altogether (seccomp_uprobe_exception in
 * kernel/seccomp.c: on x86_64 the native uretprobe, 335, and uprobe, 336,
 * which it plants in traced processes itself): it runs no filter for them,
 * neither the program nor the shield, and the call simply executes. Made by
 * the probe thread, uretprobe (outside its trampoline) has the kernel raise
 * SIGILL and uprobe fails with ENXIO: read as an unexpected end and as
 * ERRNO(6). So for calls flagged CALL_CHECK, P first asks check_filtered
 * whether the kernel filters that arch and number, and does not probe the
 * call when it does not (HOW_UNFILTERED). The Go half remembers the answer
 * per arch and number, which is all the exemption depends on.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/futex.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probe_linux.h"

#ifndef SECCOMP_RET_USER_NOTIF
#error "linux/seccomp.h lacks SECCOMP_RET_USER_NOTIF (kernel headers >= 5.0 needed)"
#endif

/* The page shared by P and the child of one probe; zeroed before each. */
struct shared {
	int32_t tid;   /* probe thread id; the kernel clears it when the thread dies */
	int32_t armed; /* futex: 1 once the shield is installed and lfd is valid */
	int32_t lfd;   /* the shield's notification listener */
	int32_t pstate;
	int64_t pret; /* syscall return value, or -errno of a failed setup step */
	int64_t trap_errno, trap_syscall, trap_arch;
	int64_t mstate, merr;
	struct seccomp_data seen; /* the notified call, as the kernel saw it */
};

/* One answer record: REC_WORDS 64-bit words, decoded by probe_linux.go. */
struct record {
	int64_t how, wstatus, pstate, pret, trap_errno, trap_syscall, trap_arch, mstate, merr;
	int64_t nr, arch, ip, args[6];
};
_Static_assert(sizeof(struct record) == 8 * REC_WORDS, "record layout");

struct call {
	uint64_t nr, flags, args[6];
};

static struct shared *S;
/* The program the probe thread installs (its address is in the shield). */
static struct sock_fprog program;
/* The program under test, and one that allows everything. */
static struct sock_fprog tested;
static struct sock_filter allow_insn = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
static const struct sock_fprog allow_all = {1, &allow_insn};
static struct sock_filter kill_insn = BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS);
static const struct sock_fprog kill_all = {1, &kill_insn};
static struct sock_filter shield_insns[64];
static struct sock_fprog shield = {0, shield_insns};
static const struct call *current_call;
static char probe_stack[64 * 1024] __attribute__((aligned(64)));

/* ---- raw syscalls: the probe thread must not touch errno (it shares the
 * main thread's TLS) and must control every register it passes. ---- */

static long raw6(long nr, long a0, long a1, long a2, long a3, long a4, long a5)
{
	long ret;
	register long r10 __asm__("r10") = a3;
	register long r8 __asm__("r8") = a4;
	register long r9 __asm__("r9") = a5;
	__asm__ volatile("syscall"
			 : "=a"(ret)
			 : "a"(nr), "D"(a0), "S"(a1), "d"(a2), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/*
 * One of the two syscalls the shield lets through:
 * seccomp(SECCOMP_SET_MODE_FILTER, 0, &program). The label after its syscall instruction is the
 * instruction_pointer the shield requires; noinline and noclone keep the
 * instruction (and the label) unique.
 */
__attribute__((noinline, noclone)) static long install_program(void)
{
	long ret;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	register long r9 __asm__("r9") = 0;
	__asm__ volatile("syscall\n"
			 "fencer_install_ip:"
			 : "=a"(ret)
			 : "a"((long)SYS_seccomp), "D"((long)SECCOMP_SET_MODE_FILTER), "S"(0L),
			   "d"(&program), "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

/*
 * The other syscall the shield lets through: futex(&S->armed, FUTEX_WAKE, 1),
 * which tells the main thread that the shield and its listener are ready.
 */
__attribute__((noinline, noclone)) static long wake_main(void)
{
	long ret;
	register long r10 __asm__("r10") = 0;
	register long r8 __asm__("r8") = 0;
	register long r9 __asm__("r9") = 0;
	__asm__ volatile("syscall\n"
			 "fencer_wake_ip:"
			 : "=a"(ret)
			 : "a"((long)SYS_futex), "D"(&S->armed), "S"((long)FUTEX_WAKE), "d"(1L),
			   "r"(r10), "r"(r8), "r"(r9)
			 : "rcx", "r11", "memory");
	return ret;
}

static uint64_t install_ip(void)
{
	uint64_t ip;
	__asm__("lea fencer_install_ip(%%rip), %0" : "=r"(ip));
	return ip;
}

static uint64_t wake_ip(void)
{
	uint64_t ip;
	__asm__("lea fencer_wake_ip(%%rip), %0" : "=r"(ip));
	return ip;
}

/*
 * A compat (i386) syscall from 64-bit code: int $0x80 with the number in eax
 * and the arguments in ebx, ecx, edx, esi, edi, ebp. The full 64-bit values
 * are loaded; the kernel reads what it reads (see the package doc).
 */
static long int80(long nr, const uint64_t *a)
{
	long ret = nr;
	register const uint64_t *p __asm__("r12") = a;
	__asm__ volatile("sub $128, %%rsp\n\t" /* step over the red zone */
			 "push %%rbp\n\t"
			 "mov 0(%1), %%rbx\n\t"
			 "mov 8(%1), %%rcx\n\t"
			 "mov 16(%1), %%rdx\n\t"
			 "mov 24(%1), %%rsi\n\t"
			 "mov 32(%1), %%rdi\n\t"
			 "mov 40(%1), %%rbp\n\t"
			 "int $0x80\n\t"
			 "pop %%rbp\n\t"
			 "add $128, %%rsp"
			 : "+a"(ret)
			 : "r"(p)
			 : "rbx", "rcx", "rdx", "rsi", "rdi", "r8", "r9", "r10", "r11", "memory", "cc");
	return ret;
}

/* Stop the probe thread without a syscall: SIGILL ends the whole child. */
__attribute__((noreturn)) static void crash(void)
{
	for (;;)
		__builtin_trap();
}

static void set_pstate(int v) { __atomic_store_n(&S->pstate, v, __ATOMIC_RELEASE); }

/* ---- the shield ---- */

static unsigned shield_len, block_start;

static void shield_emit(uint16_t code, uint32_t k)
{
	shield_insns[shield_len++] = (struct sock_filter)BPF_STMT(code, k);
}

/* In an exception block: continue only if the 32-bit word at off equals k,
 * else go to the next block (the jump is patched by shield_allow). */
static void shield_expect(uint32_t off, uint32_t k)
{
	shield_emit(BPF_LD | BPF_W | BPF_ABS, off);
	shield_emit(BPF_JMP | BPF_JEQ | BPF_K, k);
}

static void shield_expect64(uint32_t off, uint64_t k)
{
	shield_expect(off, (uint32_t)k); /* little-endian: low word first */
	shield_expect(off + 4, (uint32_t)(k >> 32));
}

/* End an exception block: allow the call it describes. */
static void shield_allow(void)
{
	shield_emit(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	for (unsigned i = block_start; i < shield_len; i++)
		if (shield_insns[i].code == (BPF_JMP | BPF_JEQ | BPF_K))
			shield_insns[i].jf = (uint8_t)(shield_len - (i + 1));
	block_start = shield_len;
}

/* Two exceptions, each one exact syscall from its own instruction; every
 * other call gets SECCOMP_RET_USER_NOTIF. */
static void build_shield(void)
{
	const uint32_t arch = offsetof(struct seccomp_data, arch);
	const uint32_t nr = offsetof(struct seccomp_data, nr);
	const uint32_t ip = offsetof(struct seccomp_data, instruction_pointer);
	const uint32_t args = offsetof(struct seccomp_data, args);

	shield_len = block_start = 0;
	shield_expect(arch, AUDIT_ARCH_X86_64);
	shield_expect(nr, SYS_seccomp);
	shield_expect64(ip, install_ip());
	shield_expect64(args + 0, SECCOMP_SET_MODE_FILTER);
	shield_expect64(args + 8, 0);
	shield_expect64(args + 16, (uint64_t)(uintptr_t)&program);
	shield_allow();
	shield_expect(arch, AUDIT_ARCH_X86_64);
	shield_expect(nr, SYS_futex);
	shield_expect64(ip, wake_ip());
	shield_expect64(args + 0, (uint64_t)(uintptr_t)&S->armed);
	shield_expect64(args + 8, FUTEX_WAKE);
	shield_allow();
	shield_emit(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF);
	shield.len = (unsigned short)shield_len;
}

/* ---- the child of one probe ---- */

static void on_sigsys(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	S->trap_errno = si->si_errno;
	S->trap_syscall = si->si_syscall;
	S->trap_arch = si->si_arch;
	set_pstate(PS_TRAPPED);
	crash(); /* returning would need rt_sigreturn, which the filters see */
}

static int probe_thread(void *arg)
{
	const struct call *c = current_call;
	long r;

	(void)arg;
	r = raw6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
	if (r != 0) {
		S->pret = r;
		set_pstate(PS_NNP_FAILED);
		crash();
	}
	r = raw6(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER,
		 (long)&shield, 0, 0, 0);
	if (r < 0) {
		S->pret = r;
		set_pstate(PS_SHIELD_FAILED);
		crash();
	}
	S->lfd = (int32_t)r;
	__atomic_store_n(&S->armed, 1, __ATOMIC_RELEASE);
	wake_main();
	r = install_program();
	if (r != 0) {
		S->pret = r;
		set_pstate(PS_PROGRAM_FAILED);
		crash();
	}
	if (c->flags & CALL_COMPAT)
		r = int80((long)(uint32_t)c->nr, c->args);
	else
		r = raw6((long)(int32_t)c->nr, (long)c->args[0], (long)c->args[1], (long)c->args[2],
			 (long)c->args[3], (long)c->args[4], (long)c->args[5]);
	S->pret = r;
	set_pstate(PS_RETURNED);
	crash();
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

__attribute__((noreturn)) static void child_report(int mstate, int err)
{
	S->merr = err;
	__atomic_store_n(&S->mstate, mstate, __ATOMIC_RELEASE);
	_exit(0);
}

__attribute__((noreturn)) static void probe_child(pid_t parent)
{
	const int flags = CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD |
			  CLONE_SYSVSEM | CLONE_PARENT_SETTID | CLONE_CHILD_CLEARTID;
	const int64_t deadline = now_ns() + CHILD_TIMEOUT_MS * 1000000LL;
	struct sigaction sa;
	struct seccomp_notif notif;
	struct pollfd pfd;

	/* No core dumps for the kills to come; die with P. */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) != 0 || prctl(PR_SET_PDEATHSIG, SIGKILL) != 0)
		child_report(MS_SETUP_FAILED, errno);
	if (getppid() != parent)
		_exit(1);
	/* A blocked SIGSYS would turn TRAP into a kill: the kernel forces
	 * blocked or ignored seccomp signals to their default action. The
	 * probe thread inherits this empty mask. */
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = on_sigsys;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSYS, &sa, NULL) != 0 || sigprocmask(SIG_SETMASK, &sa.sa_mask, NULL) != 0)
		child_report(MS_SETUP_FAILED, errno);
	if (clone(probe_thread, probe_stack + sizeof probe_stack, flags, NULL, &S->tid, NULL,
		  &S->tid) < 0)
		child_report(MS_SETUP_FAILED, errno);

	for (;;) {
		int64_t left = deadline - now_ns();
		int n = 0;

		if (left <= 0)
			child_report(MS_TIMEOUT, 0);
		if (__atomic_load_n(&S->tid, __ATOMIC_ACQUIRE) == 0)
			child_report(MS_THREAD_DIED, 0);
		if (!__atomic_load_n(&S->armed, __ATOMIC_ACQUIRE)) {
			/* The shield is not in place yet: wait for wake_main. */
			struct timespec ts = {0, 10000000};
			syscall(SYS_futex, &S->armed, FUTEX_WAIT, 0, &ts, NULL, 0);
			continue;
		}
		pfd.fd = S->lfd;
		pfd.events = POLLIN;
		pfd.revents = 0;
		/* Short slices: kernels before 5.8 do not signal POLLHUP when the
		 * probe thread dies, and then the tid check above finds it. */
		n = poll(&pfd, 1, left > 10000000 ? 10 : 1);
		if (n < 0 && errno != EINTR)
			child_report(MS_SETUP_FAILED, errno);
		if (n > 0 && (pfd.revents & POLLIN)) {
			memset(&notif, 0, sizeof notif);
			if (ioctl(S->lfd, SECCOMP_IOCTL_NOTIF_RECV, &notif) != 0)
				child_report(MS_SETUP_FAILED, errno);
			S->seen = notif.data;
			child_report(MS_PASSED, 0);
		}
		if (n > 0 && (pfd.revents & (POLLHUP | POLLERR))) {
			/* The filter lost its last user: the thread is dying. Wait
			 * for the kernel to clear its tid. */
			int32_t tid = __atomic_load_n(&S->tid, __ATOMIC_ACQUIRE);
			struct timespec ts = {0, 1000000};
			if (tid != 0)
				syscall(SYS_futex, &S->tid, FUTEX_WAIT, tid, &ts, NULL, 0);
		}
	}
}

/* ---- P: one child per probe ---- */

static int wait_child(pid_t pid, int *wstatus)
{
	int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	int timed_out = 0;

	if (pidfd >= 0) {
		struct pollfd pfd = {pidfd, POLLIN, 0};
		int n;
		do
			n = poll(&pfd, 1, PARENT_TIMEOUT_MS);
		while (n < 0 && errno == EINTR);
		if (n == 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
		}
		close(pidfd);
	}
	/* Without pidfd_open (before 5.3) rely on the child's own deadline. */
	while (waitpid(pid, wstatus, __WALL) < 0)
		if (errno != EINTR) {
			perror("fencer kernel probe: waitpid");
			_exit(2);
		}
	return timed_out;
}

static pid_t fork_or_die(void)
{
	pid_t pid = fork();
	if (pid < 0) {
		perror("fencer kernel probe: fork");
		_exit(2);
	}
	return pid;
}

static void probe_one(const struct call *c, struct record *rec)
{
	pid_t parent = getpid(), pid;
	int wstatus = 0;

	memset(S, 0, sizeof *S);
	current_call = c;
	pid = fork_or_die();
	if (pid == 0)
		probe_child(parent);
	memset(rec, 0, sizeof *rec);
	rec->how = wait_child(pid, &wstatus) ? HOW_PARENT_TIMEOUT : HOW_RAN;
	rec->wstatus = wstatus;
	rec->pstate = S->pstate;
	rec->pret = S->pret;
	rec->trap_errno = S->trap_errno;
	rec->trap_syscall = S->trap_syscall;
	rec->trap_arch = S->trap_arch;
	rec->mstate = S->mstate;
	rec->merr = S->merr;
	rec->nr = S->seen.nr;
	rec->arch = S->seen.arch;
	rec->ip = (int64_t)S->seen.instruction_pointer;
	for (int i = 0; i < 6; i++)
		rec->args[i] = (int64_t)S->seen.args[i];
}

/* Does the kernel accept the program? 0 or the errno it refused it with.
 * The child installs it on itself and then never makes another syscall. */
static int64_t load_program(void)
{
	int wstatus;
	pid_t pid;

	memset(S, 0, sizeof *S);
	pid = fork_or_die();
	if (pid == 0) {
		long r = raw6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
		if (r == 0)
			r = raw6(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&program, 0, 0, 0);
		S->pret = r;
		set_pstate(PS_RETURNED);
		crash();
	}
	wait_child(pid, &wstatus);
	if (S->pstate != PS_RETURNED) {
		fprintf(stderr, "fencer kernel probe: loading child ended with status %#x\n", wstatus);
		_exit(2);
	}
	return -S->pret;
}

/*
 * Does the kernel run seccomp filters for the call's arch and number? The
 * child installs a filter that kills the process on every syscall and makes
 * the call with all arguments zero: a filtered call kills it with SIGSYS
 * before running. Any other end means the kernel ran no filter and made the
 * call: it is exempt, and the shield could not have held it either. (The
 * exempt calls Linux knows, uretprobe and uprobe, do nothing when not made
 * from their kernel-made trampolines: SIGILL, or ENXIO.) The exemption
 * depends on the arch and number only, which is why the arguments can be
 * zero. Returns HOW_RAN (filtered: go on and probe), HOW_UNFILTERED, or
 * HOW_CHECK_FAILED with the child's state in rec.
 */
static int check_filtered(const struct call *c, struct record *rec)
{
	static const uint64_t zero[6];
	int wstatus = 0, timed_out;
	pid_t pid;

	memset(S, 0, sizeof *S);
	pid = fork_or_die();
	if (pid == 0) {
		/* Raw syscalls, checked: never make the call unfiltered because
		 * a step before it failed. */
		long r = raw6(SYS_prctl, PR_SET_DUMPABLE, 0, 0, 0, 0, 0);
		if (r == 0)
			r = raw6(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0, 0);
		if (r != 0) {
			S->pret = r;
			set_pstate(PS_NNP_FAILED);
			crash();
		}
		r = raw6(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&kill_all, 0, 0, 0);
		if (r != 0) {
			S->pret = r;
			set_pstate(PS_PROGRAM_FAILED);
			crash();
		}
		if (c->flags & CALL_COMPAT)
			r = int80((long)(uint32_t)c->nr, zero);
		else
			r = raw6((long)(int32_t)c->nr, 0, 0, 0, 0, 0, 0);
		S->pret = r;
		set_pstate(PS_RETURNED);
		crash();
	}
	timed_out = wait_child(pid, &wstatus);
	if (!timed_out && WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGSYS && S->pstate == PS_NONE)
		return HOW_RAN;
	memset(rec, 0, sizeof *rec);
	rec->wstatus = wstatus;
	rec->pstate = S->pstate;
	rec->pret = S->pret;
	if (S->pstate == PS_NNP_FAILED || S->pstate == PS_PROGRAM_FAILED)
		return rec->how = HOW_CHECK_FAILED;
	return rec->how = HOW_UNFILTERED;
}

/* Can this process make i386 syscalls with int $0x80? 1 yes, 2 no. */
static int64_t compat_works(void)
{
	static const uint64_t none[6];
	int wstatus;
	pid_t pid;

	memset(S, 0, sizeof *S);
	pid = fork_or_die();
	if (pid == 0) {
		S->pret = int80(20 /* i386 getpid */, none);
		_exit(0);
	}
	wait_child(pid, &wstatus);
	return WIFEXITED(wstatus) && S->pret == pid ? 1 : 2;
}

static void read_all(int fd, void *buf, size_t n)
{
	char *p = buf;
	while (n > 0) {
		ssize_t r = read(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			fprintf(stderr, "fencer kernel probe: short request\n");
			_exit(2);
		}
		p += r;
		n -= (size_t)r;
	}
}

static void write_all(int fd, const void *buf, size_t n)
{
	const char *p = buf;
	while (n > 0) {
		ssize_t r = write(fd, p, n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			perror("fencer kernel probe: write");
			_exit(2);
		}
		p += r;
		n -= (size_t)r;
	}
}

static void *alloc_or_die(size_t n)
{
	void *p = calloc(n ? n : 1, 1);
	if (p == NULL) {
		fprintf(stderr, "fencer kernel probe: out of memory\n");
		_exit(2);
	}
	return p;
}

__attribute__((noreturn)) static void serve(void)
{
	uint64_t hdr[3], out[4];
	struct call *calls;
	struct record *recs;

	read_all(0, hdr, sizeof hdr);
	if (hdr[0] != PROTO_MAGIC || hdr[1] > MAX_INSNS || hdr[2] > MAX_CALLS) {
		fprintf(stderr, "fencer kernel probe: bad request header\n");
		_exit(2);
	}
	tested.len = (unsigned short)hdr[1];
	tested.filter = alloc_or_die(hdr[1] * sizeof(struct sock_filter));
	read_all(0, tested.filter, hdr[1] * sizeof(struct sock_filter));
	program = tested;
	calls = alloc_or_die(hdr[2] * sizeof *calls);
	read_all(0, calls, hdr[2] * sizeof *calls);
	recs = alloc_or_die(hdr[2] * sizeof *recs);

	S = mmap(NULL, sizeof *S, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (S == MAP_FAILED) {
		perror("fencer kernel probe: mmap");
		_exit(2);
	}
	build_shield();

	out[0] = PROTO_MAGIC;
	out[1] = (uint64_t)load_program();
	out[2] = 0;
	/* Under a seccomp filter of its own (a container's, say) every probe
	 * also meets that outer filter, whose actions mix with the program's.
	 * Then each call is first probed under allow_all: unless it passes, the
	 * outer filter decides it and the call is reported as such. */
	out[3] = prctl(PR_GET_SECCOMP, 0, 0, 0, 0) != 0;
	if (out[1] == 0) {
		for (uint64_t i = 0; i < hdr[2]; i++) {
			if (calls[i].flags & CALL_COMPAT) {
				if (out[2] == 0)
					out[2] = (uint64_t)compat_works();
				if (out[2] != 1) {
					memset(&recs[i], 0, sizeof recs[i]);
					recs[i].how = HOW_SKIPPED;
					continue;
				}
			}
			if ((calls[i].flags & CALL_CHECK) &&
			    check_filtered(&calls[i], &recs[i]) != HOW_RAN)
				continue;
			if (out[3]) {
				program = allow_all;
				probe_one(&calls[i], &recs[i]);
				program = tested;
				if (!WIFEXITED(recs[i].wstatus) || recs[i].mstate != MS_PASSED) {
					recs[i].how = HOW_OUTER_FILTER;
					continue;
				}
			}
			probe_one(&calls[i], &recs[i]);
		}
	}
	write_all(1, out, sizeof out);
	if (out[1] == 0)
		write_all(1, recs, hdr[2] * sizeof *recs);
	_exit(0);
}

__attribute__((constructor)) static void probe_constructor(void)
{
	const char *v = getenv(PROBE_ENV);
	if (v != NULL && strcmp(v, PROBE_ENV_VALUE) == 0)
		serve();
}

int fencer_kernel_probe_abi(void) { return REC_WORDS; }
