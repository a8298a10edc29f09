/*
 * highbits makes one syscall with junk in the high half of an argument,
 * for e2e's TestHighBitsEndToEnd, and prints what the kernel returned:
 * "ok" or the errno's name. Under a filter that kills the call it prints
 * nothing: the process dies by SIGSYS.
 *
 *   highbits mmap-rwx        mmap(0, 4096, 0x100000007, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0)
 *   highbits mmap-rw         mmap(0, 4096, 0x100000003, ...): read-write, with junk
 *   highbits keyctl-user     keyctl(KEYCTL_GET_KEYRING_ID, 0x00000000fffffffc, 0): -4 to the kernel
 *   highbits keyctl-session  keyctl(KEYCTL_GET_KEYRING_ID, 0x00000000fffffffd, 0): -3
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#define KEYCTL_GET_KEYRING_ID 0

int main(int argc, char **argv)
{
	long r;

	if (argc != 2) {
		fprintf(stderr, "usage: highbits mmap-rwx|mmap-rw|keyctl-user|keyctl-session\n");
		return 2;
	}
	if (strcmp(argv[1], "mmap-rwx") == 0)
		r = syscall(SYS_mmap, 0L, 4096L, 0x100000007L, (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);
	else if (strcmp(argv[1], "mmap-rw") == 0)
		r = syscall(SYS_mmap, 0L, 4096L, 0x100000003L, (long)(MAP_PRIVATE | MAP_ANONYMOUS), -1L, 0L);
	else if (strcmp(argv[1], "keyctl-user") == 0)
		r = syscall(SYS_keyctl, (long)KEYCTL_GET_KEYRING_ID, 0x00000000fffffffcL, 0L);
	else if (strcmp(argv[1], "keyctl-session") == 0)
		r = syscall(SYS_keyctl, (long)KEYCTL_GET_KEYRING_ID, 0x00000000fffffffdL, 0L);
	else {
		fprintf(stderr, "highbits: unknown call %s\n", argv[1]);
		return 2;
	}
	if (r == -1) {
		printf("%s\n", strerrorname_np(errno));
		return 1;
	}
	printf("ok\n");
	return 0;
}
