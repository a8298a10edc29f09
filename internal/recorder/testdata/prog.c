/* The recorder's test program: a thread, a child, a socket, a file. */
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

static void *thread(void *arg) {
	(void)arg;
	write(1, "thread\n", 7);
	return 0;
}

int main(void) {
	pthread_t t;
	pthread_create(&t, 0, thread, 0);
	pthread_join(t, 0);
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	close(s);
	int fd = open("/etc/hostname", O_RDONLY);
	close(fd);
	pid_t p = fork();
	if (p == 0)
		_exit(3);
	int st;
	waitpid(p, &st, 0);
	return 7;
}
