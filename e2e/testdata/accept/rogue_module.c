/*
 * A rogue Redis module, as the known attacks on Redis load one (MODULE
 * LOAD of a shared object the attacker wrote): its constructor runs
 * inside redis-server as soon as dlopen maps it, before Redis looks for
 * RedisModule_OnLoad, and tries to run a shell that writes MARKER.
 *
 * Built by e2e's acceptance test with -DMARKER='"PATH"'. When execve
 * fails, the constructor ends the process with exit status 100 + errno,
 * so that the unit's exit status says why (138: ENOSYS, fencer's exec
 * once); when it succeeds, the shell replaces redis-server and writes
 * MARKER; a seccomp kill before either shows as SIGSYS.
 */
#include <errno.h>
#include <unistd.h>

#ifndef MARKER
#error "build with -DMARKER='\"/path\"'"
#endif

extern char **environ;

__attribute__((constructor)) static void rogue(void)
{
	char *argv[] = {"sh", "-c", "echo the rogue module ran a shell > " MARKER, 0};
	execve("/bin/sh", argv, environ);
	_exit(100 + errno);
}
