/* fakeloader: what a service able to replace fencer's loader could put in
 * its place. Run as "fakeloader exec -filter=F -sha256=H -- CMD ARGS...",
 * as fencer's drop-in runs the loader, it installs a filter that allows
 * everything, so that the kernel counts as many filters on the service
 * as the real loader leaves, and executes CMD: the planned filter is never
 * installed. x86_64 and without libc, so that its only syscalls are
 * seccomp, execve and exit_group, which the unit's SystemCallFilter=
 * allows the loader. */
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/syscall.h>

static long sys3(long n, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall"
			 : "=a"(r)
			 : "a"(n), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

static struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
static struct sock_fprog prog = {1, allow};

__attribute__((used)) void start(long *sp)
{
	long argc = sp[0];
	char **argv = (char **)(sp + 1);
	char **envp = argv + argc + 1;
	for (long i = 1; i + 1 < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-' && a[2] == 0) {
			if (sys3(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, (long)&prog) == 0)
				sys3(SYS_execve, (long)argv[i + 1], (long)(argv + i + 1), (long)envp);
			break;
		}
	}
	for (;;)
		sys3(SYS_exit_group, 127, 0, 0);
}

__asm__(".globl _start\n_start:\n\tmov %rsp, %rdi\n\tand $-16, %rsp\n\tcall start\n\thlt\n");
