//go:build ignore

// (The line above keeps the go command, which tests this directory, from
// taking this file for cgo source.)

/*
 * server.c: the metrics server that metrics.fencer.hcl protects.
 *
 * A single-threaded HTTP server that answers Prometheus scrapes on a TCP
 * socket systemd listens on for it. It opens nothing and allocates nothing
 * itself: systemd hands it
 *
 *   fd 1  the log file (StandardOutput=append:PATH), one line per request;
 *   fd 2  stderr (the journal), one line per warning, each followed by
 *         fsync(1) so that the request that caused it survives a crash;
 *   fd 3  the listening socket (socket activation, LISTEN_FDS=1).
 *
 *   GET /metrics  200, Prometheus text format 0.0.4
 *   GET /violate  answers with write() on the client socket: the policy only
 *                 lets write() reach fds 1 and 2, so under fencer's filter
 *                 this kills the server (SIGSYS); without it the client gets
 *                 the answer
 *   GET /exec     tries to run another program, as a compromised server
 *                 would: execve of its own binary as the "exec probe"
 *                 (argv[1] = exec-probe), which writes one line to the log,
 *                 "metrics: exec probe ran as pid N", and exits. The policy
 *                 names execve in no rule, so under fencer's loader the
 *                 kernel fails the execve with ENOSYS (exec once): the
 *                 server answers 500 with the errno, warns and serves on.
 *                 Without the filter, or under a policy that allows execve,
 *                 the probe replaces the server and the client's
 *                 connection closes unanswered
 *   anything else 404 (unknown path), 405 (not GET), 400 (not HTTP),
 *                 408 (no complete request within a second), each with a
 *                 warning
 *
 * Build: build.sh OUT (gcc -static, glibc). Nothing here may make a syscall
 * the policy does not name, so: no stdio, no malloc, no time zone or locale
 * functions, buffers are static, numbers and dates are formatted by hand.
 *
 * Syscalls, measured with `strace -f` on x86_64 (Debian 12, glibc 2.36,
 * gcc 12, kernel 6.x; server_test.go re-measures them on every run):
 *
 *   startup, from execve to the first poll, in order:
 *     execve
 *     brk(NULL), brk(...)                       glibc's static TLS setup
 *     arch_prctl(ARCH_SET_FS, ...)              x86_64 thread pointer
 *     set_tid_address, set_robust_list, rseq    glibc's thread setup
 *     prlimit64(0, RLIMIT_STACK, NULL, ...)     default thread stack size
 *     readlink("/proc/self/exe", ...)           static glibc's $ORIGIN
 *     getrandom(8 bytes, GRND_NONBLOCK)         malloc's tcache key (glibc
 *     brk(NULL), brk(...), brk(...)             mallocs during startup)
 *     mprotect(..., PROT_READ)                  RELRO
 *     getpid                                    checking LISTEN_PID (ours)
 *   and on a failed start: write(2, ...) and exit_group.
 *
 *   steady state, per connection (and nothing else):
 *     poll([{fd=3, POLLIN}], 1, -1)
 *     accept4(3, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = C
 *     poll([{fd=C, POLLIN}], 1, <=1000)  read(C, ...)   (repeated until the
 *                                                        headers are in)
 *     sendto(C, ..., MSG_NOSIGNAL, NULL, 0)  (poll(C, POLLOUT) if it is full)
 *     write(1, <log line>)
 *     write(2, <warning>), fsync(1)           only for a warning
 *     close(C)
 *   /violate replaces the sendto with one write(C, ...).
 *   /exec adds one execve("/proc/self/exe", ...) before the sendto; the
 *   probe, when it runs, makes the server's startup calls up to prlimit64
 *   (and getpid), then write(1, ...) and exit_group.
 *   If accept4 fails with EMFILE/ENFILE/ENOBUFS/ENOMEM: a warning, then
 *   poll(NULL, 0, 100) to back off.
 *
 *   The kernel adds one: a process stopped and continued (SIGSTOP/SIGCONT,
 *   a debugger attaching) while in poll resumes it with restart_syscall,
 *   which a policy without it turns into a kill.
 *
 *   clock_gettime (log timestamps, uptime, the per-client deadline) is
 *   answered by the vDSO and makes no syscall on x86_64 with the tsc
 *   clocksource. On a host whose clocksource has no vDSO support (e.g. hpet,
 *   some VMs) it falls back to the clock_gettime syscall, which the policy
 *   does not allow.
 *
 * Other architectures, NOT measured (what glibc 2.36 is expected to do):
 *   aarch64, riscv64: no arch_prctl (the thread pointer is a register);
 *     readlinkat(AT_FDCWD, "/proc/self/exe") instead of readlink; poll()
 *     is ppoll; otherwise as x86_64 (mmap only if brk fails).
 *   ppc64le, s390x: no arch_prctl; readlink; poll.
 *   i386: set_thread_area instead of arch_prctl; readlink; poll; 32-bit
 *     clock_gettime may become a clock_gettime64 syscall if the vDSO lacks
 *     it.
 *   arm: the ARM private syscall set_tls instead of arch_prctl; readlink;
 *     poll; clock_gettime as i386.
 *   i386 and s390x: glibc built for kernels older than 4.3 (Debian's is)
 *     sends accept4() and sendto() through socketcall(2), whose arguments a
 *     filter cannot see; this server therefore calls them with syscall(2),
 *     which makes the direct syscalls everywhere.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

enum {
	LOG_FD = 1,
	WARN_FD = 2,
	LISTEN_FD = 3,
};

/* A client gets this long to send its request line and headers. */
#define CLIENT_DEADLINE_MS 1000
/* ...and at most this many reads, in case the clock does not move. */
#define CLIENT_MAX_READS 64
/* How long to back off when accept4 runs out of fds or memory. */
#define ACCEPT_BACKOFF_MS 100

static char request[8192];
static char body[4096];
static char response[8192];
static char logline[1024];
static char warning[1024];

static struct timespec started;

static struct {
	unsigned long long metrics, violate, exec, other, warnings;
} counts;

extern char **environ;

/* --- formatting into fixed buffers, truncating, without libc's printf -- */

struct buf {
	char *p;
	size_t len, cap;
};

#define BUF(a) ((struct buf){.p = (a), .len = 0, .cap = sizeof(a)})

static void put(struct buf *b, const char *s, size_t n)
{
	if (n > b->cap - b->len)
		n = b->cap - b->len;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void puts_(struct buf *b, const char *s)
{
	put(b, s, strlen(s));
}

static void putu(struct buf *b, unsigned long long v)
{
	char t[20];
	size_t i = sizeof t;

	do {
		t[--i] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	put(b, t + i, sizeof t - i);
}

/* v in decimal, at least width digits. */
static void putz(struct buf *b, unsigned long long v, int width)
{
	unsigned long long p = 1;

	for (int i = 1; i < width; i++) {
		p *= 10;
		if (v < p)
			put(b, "0", 1);
	}
	putu(b, v);
}

/* Untrusted bytes, at most max of them: printable ASCII except " and \ as
 * is, anything else as \xHH. */
static void putq(struct buf *b, const char *s, size_t n, size_t max)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == max) {
			puts_(b, "...");
			return;
		}
		if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
			put(b, (const char *)&c, 1);
		} else {
			char e[4] = {'\\', 'x', hex[c >> 4], hex[c & 15]};
			put(b, e, 4);
		}
	}
}

/* An ISO 8601 UTC timestamp with milliseconds. gmtime_r would do, but its
 * first call reads the time zone (TZ, /etc/localtime): the policy allows no
 * open, so the calendar is computed here (Howard Hinnant's days_to_civil). */
static void puttime(struct buf *b)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_REALTIME, &ts) != 0) {
		puts_(b, "-");
		return;
	}
	long long days = ts.tv_sec / 86400, secs = ts.tv_sec % 86400;
	if (secs < 0) {
		secs += 86400;
		days--;
	}
	long long z = days + 719468;
	long long era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned long long doe = (unsigned long long)(z - era * 146097);
	unsigned long long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned long long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned long long mp = (5 * doy + 2) / 153;
	unsigned long long d = doy - (153 * mp + 2) / 5 + 1;
	unsigned long long m = mp < 10 ? mp + 3 : mp - 9;
	long long y = (long long)yoe + era * 400 + (m <= 2);

	if (y < 0 || y > 9999) {
		puts_(b, "-");
		return;
	}
	putz(b, (unsigned long long)y, 4);
	put(b, "-", 1);
	putz(b, m, 2);
	put(b, "-", 1);
	putz(b, d, 2);
	put(b, "T", 1);
	putz(b, (unsigned long long)secs / 3600, 2);
	put(b, ":", 1);
	putz(b, (unsigned long long)secs / 60 % 60, 2);
	put(b, ":", 1);
	putz(b, (unsigned long long)secs % 60, 2);
	put(b, ".", 1);
	putz(b, (unsigned long long)ts.tv_nsec / 1000000, 3);
	put(b, "Z", 1);
}

static long long monotonic_ms(void)
{
	struct timespec ts;

	if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0)
		return 0;
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- output ------------------------------------------------------------- */

/* write() to the log file or stderr, the only fds the policy lets it reach.
 * A log that cannot be written is not worth stopping to serve for. */
static void write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t r = write(fd, p, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return;
		p += r;
		n -= (size_t)r;
	}
}

static void die(const char *msg, const char *detail)
{
	struct buf b = BUF(warning);

	puts_(&b, "metrics: ");
	puts_(&b, msg);
	if (detail) {
		puts_(&b, ": \"");
		putq(&b, detail, strlen(detail), 64);
		puts_(&b, "\"");
	}
	puts_(&b, "\n");
	write_all(WARN_FD, b.p, b.len);
	exit(1);
}

/* A warning on stderr, then fsync of the log file so that the request that
 * caused it (logged just before) is on disk. fsync fails harmlessly when
 * stdout is not a file. */
static void warn(const char *msg, const char *detail, size_t detail_len)
{
	struct buf b = BUF(warning);

	counts.warnings++;
	puts_(&b, "metrics: warning: ");
	puts_(&b, msg);
	if (detail) {
		puts_(&b, ": \"");
		putq(&b, detail, detail_len, 128);
		puts_(&b, "\"");
	}
	puts_(&b, "\n");
	write_all(WARN_FD, b.p, b.len);
	while (fsync(LOG_FD) != 0 && errno == EINTR)
		;
}

/* One log line per request: time, method, target, status, bytes sent. */
static void log_request(const char *method, size_t method_len,
			const char *target, size_t target_len, int status,
			size_t sent)
{
	struct buf b = BUF(logline);

	puttime(&b);
	put(&b, " ", 1);
	if (method_len)
		putq(&b, method, method_len, 16);
	else
		put(&b, "-", 1);
	put(&b, " ", 1);
	if (target_len)
		putq(&b, target, target_len, 256);
	else
		put(&b, "-", 1);
	put(&b, " ", 1);
	putu(&b, (unsigned long long)status);
	put(&b, " ", 1);
	putu(&b, sent);
	if (b.len == b.cap)
		b.len--;
	put(&b, "\n", 1);
	write_all(LOG_FD, b.p, b.len);
}

/* --- the client socket ------------------------------------------------- */

/* accept4 and sendto through syscall(2): glibc on i386 and s390x would
 * otherwise route them through socketcall(2) (see the top of the file). */
static int accept_client(void)
{
	return (int)syscall(SYS_accept4, LISTEN_FD, NULL, NULL,
			    SOCK_CLOEXEC | SOCK_NONBLOCK);
}

/* Waits up to ms for events on fd; 1 when they came, 0 on timeout or error. */
static int wait_for(int fd, short events, long long ms)
{
	struct pollfd p = {.fd = fd, .events = events, .revents = 0};

	if (ms < 0)
		ms = 0;
	int r = poll(&p, 1, (int)ms);
	return r > 0;
}

/* Sends the whole answer before the deadline; returns the bytes sent. */
static size_t send_all(int fd, const char *p, size_t n, long long deadline)
{
	size_t sent = 0;

	while (sent < n) {
		ssize_t r = (ssize_t)syscall(SYS_sendto, fd, p + sent, n - sent,
					     MSG_NOSIGNAL, NULL, 0);
		if (r > 0) {
			sent += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			long long left = deadline - monotonic_ms();
			if (left > 0 && wait_for(fd, POLLOUT, left))
				continue;
		}
		break;
	}
	return sent;
}

static int headers_complete(const char *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i++) {
		if (p[i] != '\n')
			continue;
		if (p[i + 1] == '\n')
			return 1;
		if (p[i + 1] == '\r' && i + 2 < n && p[i + 2] == '\n')
			return 1;
	}
	return 0;
}

enum got {
	GOT_REQUEST,   /* the headers are complete */
	GOT_NOTHING,   /* the client closed without sending anything */
	GOT_PARTIAL,   /* it closed mid-request */
	GOT_TOO_LARGE, /* the headers do not fit in request[] */
	GOT_TIMEOUT,   /* they did not arrive before the deadline */
	GOT_ERROR,     /* reading failed (e.g. ECONNRESET) */
};

/* Reads the request line and headers into request[] before the deadline. */
static enum got read_request(int fd, size_t *len, long long deadline)
{
	*len = 0;
	for (int reads = 0; reads < CLIENT_MAX_READS; reads++) {
		long long left = deadline - monotonic_ms();

		if (left <= 0 || !wait_for(fd, POLLIN, left))
			return GOT_TIMEOUT;
		ssize_t r = read(fd, request + *len, sizeof request - *len);
		if (r > 0) {
			*len += (size_t)r;
			if (headers_complete(request, *len))
				return GOT_REQUEST;
			if (*len == sizeof request)
				return GOT_TOO_LARGE;
			continue;
		}
		if (r == 0)
			return *len ? GOT_PARTIAL : GOT_NOTHING;
		if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK)
			return GOT_ERROR;
	}
	return GOT_TIMEOUT;
}

/* The request line: METHOD SP TARGET SP HTTP/1.x CRLF. Returns 0 and sets the
 * pieces if it is one. */
static int parse_request_line(const char *p, size_t n, const char **method,
			      size_t *method_len, const char **target,
			      size_t *target_len)
{
	size_t i = 0, m, t;

	while (i < n && i < 16 && p[i] >= 'A' && p[i] <= 'Z')
		i++;
	if (i == 0 || i >= n || p[i] != ' ')
		return -1;
	m = i++;
	t = i;
	while (i < n && i - t < 2048 && p[i] > 0x20 && p[i] < 0x7f)
		i++;
	if (i == t || i >= n || p[i] != ' ' || p[t] != '/')
		return -1;
	*method = p;
	*method_len = m;
	*target = p + t;
	*target_len = i - t;
	i++;
	if (n - i < 9 || memcmp(p + i, "HTTP/1.", 7) != 0 ||
	    (p[i + 7] != '0' && p[i + 7] != '1'))
		return -1;
	i += 8;
	if (p[i] == '\r')
		i++;
	if (i >= n || p[i] != '\n')
		return -1;
	return 0;
}

static const char *reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	default: return "Error";
	}
}

/* An HTTP/1.1 answer with the given body, in response[]. */
static size_t build_response(int status, const char *content_type,
			     const char *b, size_t n)
{
	struct buf r = BUF(response);

	puts_(&r, "HTTP/1.1 ");
	putu(&r, (unsigned long long)status);
	put(&r, " ", 1);
	puts_(&r, reason(status));
	puts_(&r, "\r\nContent-Type: ");
	puts_(&r, content_type);
	puts_(&r, "\r\nContent-Length: ");
	putu(&r, n);
	if (status == 405)
		puts_(&r, "\r\nAllow: GET");
	puts_(&r, "\r\nConnection: close\r\n\r\n");
	put(&r, b, n);
	return r.len;
}

static size_t build_text(int status, const char *text)
{
	return build_response(status, "text/plain; charset=utf-8", text,
			      strlen(text));
}

static void put_counter(struct buf *b, const char *path, unsigned long long n)
{
	puts_(b, "metrics_requests_total{path=\"");
	puts_(b, path);
	puts_(b, "\"} ");
	putu(b, n);
	puts_(b, "\n");
}

static size_t build_metrics(void)
{
	struct buf b = BUF(body);
	long long up = monotonic_ms() - ((long long)started.tv_sec * 1000 +
					 started.tv_nsec / 1000000);

	if (up < 0)
		up = 0;
	puts_(&b, "# HELP metrics_requests_total Requests answered, by path"
		  " (\"other\" for every path but /metrics, /violate and"
		  " /exec).\n"
		  "# TYPE metrics_requests_total counter\n");
	put_counter(&b, "/metrics", counts.metrics);
	put_counter(&b, "/violate", counts.violate);
	put_counter(&b, "/exec", counts.exec);
	put_counter(&b, "other", counts.other);
	puts_(&b, "# HELP metrics_warnings_total Warnings written to stderr.\n"
		  "# TYPE metrics_warnings_total counter\n"
		  "metrics_warnings_total ");
	putu(&b, counts.warnings);
	puts_(&b, "\n# HELP metrics_uptime_seconds Seconds since the server"
		  " started.\n"
		  "# TYPE metrics_uptime_seconds gauge\n"
		  "metrics_uptime_seconds ");
	putu(&b, (unsigned long long)up / 1000);
	put(&b, ".", 1);
	putz(&b, (unsigned long long)up % 1000, 3);
	puts_(&b, "\n");
	return build_response(200, "text/plain; version=0.0.4; charset=utf-8",
			      b.p, b.len);
}

static const char violation[] =
	"this answer was written with write(2) on the client socket: "
	"fencer's policy allows write only on fds 1 and 2, so under it the "
	"server is killed instead\n";

/* The name the exec probe is run with, as argv[1]. */
static const char exec_probe[] = "exec-probe";

/* GET /exec: run the exec probe in place of the server. Returns only when
 * execve failed, with the status and text to answer. */
static size_t try_exec(void)
{
	static char text[256];
	char *argv[] = {"metrics-server", (char *)exec_probe, NULL};
	struct buf b = BUF(text);

	execve("/proc/self/exe", argv, environ);
	int e = errno;
	puts_(&b, "execve of the exec probe failed: errno ");
	putu(&b, (unsigned long long)e);
	if (e == ENOSYS)
		puts_(&b, " (ENOSYS: no exec after start)");
	puts_(&b, "\n");
	put(&b, "", 1);
	return build_text(500, text);
}

static void serve(int fd)
{
	long long deadline = monotonic_ms() + CLIENT_DEADLINE_MS;
	const char *method = NULL, *target = NULL, *problem = NULL;
	size_t len, method_len = 0, target_len = 0, n, path_len = 0;
	int status;
	enum got got = read_request(fd, &len, deadline);

	if (got == GOT_NOTHING || got == GOT_ERROR) {
		/* No request, nothing to answer or log. */
		warn(got == GOT_NOTHING ? "a client closed its connection"
					  " without sending a request"
					: "reading a request failed",
		     NULL, 0);
		close(fd);
		return;
	}
	if (got != GOT_REQUEST) {
		status = got == GOT_TOO_LARGE ? 431 : got == GOT_TIMEOUT ? 408 : 400;
		problem = got == GOT_TOO_LARGE ? "request headers too large"
			  : got == GOT_TIMEOUT ? "no complete request within a second"
					       : "the client closed mid-request";
	} else if (parse_request_line(request, len, &method, &method_len,
				      &target, &target_len) != 0) {
		status = 400;
		problem = "not an HTTP/1.x request";
	} else {
		while (path_len < target_len && target[path_len] != '?')
			path_len++;
		int is_get = method_len == 3 && memcmp(method, "GET", 3) == 0;
		int is_metrics = path_len == 8 && memcmp(target, "/metrics", 8) == 0;
		int is_violate = path_len == 8 && memcmp(target, "/violate", 8) == 0;
		int is_exec = path_len == 5 && memcmp(target, "/exec", 5) == 0;

		if ((is_metrics || is_violate || is_exec) && !is_get) {
			status = 405;
			problem = "method not allowed";
		} else if (is_metrics) {
			status = 200;
		} else if (is_violate) {
			counts.violate++;
			n = build_text(200, violation);
			log_request(method, method_len, target, target_len, 200, n);
			/* The forbidden call: the policy allows write only to
			 * fds 1 and 2, and this is a client socket. */
			if (write(fd, response, n) < 0)
				warn("write on the client socket failed", NULL, 0);
			close(fd);
			return;
		} else if (is_exec) {
			counts.exec++;
			n = try_exec();
			n = send_all(fd, response, n, deadline + CLIENT_DEADLINE_MS);
			log_request(method, method_len, target, target_len, 500, n);
			warn("GET /exec: the exec probe did not run", NULL, 0);
			close(fd);
			return;
		} else {
			status = 404;
			problem = "unknown path";
		}
	}

	if (status == 200) {
		counts.metrics++;
		n = build_metrics();
	} else {
		counts.other++;
		n = build_text(status, status == 404 ? "not found; try /metrics\n"
						      : "bad request\n");
	}
	n = send_all(fd, response, n, deadline + CLIENT_DEADLINE_MS);
	log_request(method, method_len, target, target_len, status, n);
	if (problem) {
		if (status == 404 || status == 405)
			warn(problem, target, target_len);
		else
			warn(problem, request, len < 64 ? len : 64);
	}
	close(fd);
}

/* --- startup ----------------------------------------------------------- */

/* A decimal number that fits in a long, or -1. */
static long parse_number(const char *s)
{
	long v = 0;

	if (!s || !*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (1L << 40))
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

/* The sd_listen_fds(3) protocol, without libsystemd: LISTEN_PID is this
 * process and LISTEN_FDS says one fd, which is therefore fd 3. */
static void check_socket_activation(void)
{
	const char *fds = getenv("LISTEN_FDS"), *pid = getenv("LISTEN_PID");

	if (!fds)
		die("LISTEN_FDS is not set: start me through a systemd socket"
		    " unit that passes one listening socket (fd 3)",
		    NULL);
	if (!pid)
		die("LISTEN_PID is not set: start me through a systemd socket"
		    " unit that passes one listening socket (fd 3)",
		    NULL);
	if (parse_number(pid) != (long)getpid())
		die("LISTEN_PID is not this process: the sockets were passed to"
		    " another one",
		    pid);
	if (parse_number(fds) != 1)
		die("LISTEN_FDS must be 1: I serve exactly one listening socket",
		    fds);
}

/* The exec probe: proof that an execve went through. */
static int run_exec_probe(void)
{
	struct buf b = BUF(logline);

	puts_(&b, "metrics: exec probe ran as pid ");
	putu(&b, (unsigned long long)getpid());
	puts_(&b, "\n");
	write_all(LOG_FD, b.p, b.len);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], exec_probe) == 0)
		return run_exec_probe();
	check_socket_activation();
	clock_gettime(CLOCK_MONOTONIC, &started);

	for (;;) {
		struct pollfd p = {.fd = LISTEN_FD, .events = POLLIN, .revents = 0};

		if (poll(&p, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			die("poll on the listening socket (fd 3) failed", NULL);
		}
		if (p.revents & POLLNVAL)
			die("fd 3 is not open: no listening socket was passed", NULL);
		if (!(p.revents & (POLLIN | POLLERR | POLLHUP)))
			continue;

		int fd = accept_client();
		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
#if EWOULDBLOCK != EAGAIN
			case EWOULDBLOCK:
#endif
			case EINTR:
			case ECONNABORTED:
			case EPROTO:
			case ENETDOWN:
			case ENOPROTOOPT:
			case EHOSTDOWN:
			case ENONET:
			case EHOSTUNREACH:
			case EOPNOTSUPP:
			case ENETUNREACH:
				/* accept(2): treat like EAGAIN. */
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				warn("out of file descriptors or memory; backing off",
				     NULL, 0);
				poll(NULL, 0, ACCEPT_BACKOFF_MS);
				continue;
			default:
				die("accept4 on fd 3 failed: is it a listening"
				    " TCP socket?",
				    NULL);
			}
		}
		if (fd == LOG_FD || fd == WARN_FD) {
			/* The lowest free fd: stdout or stderr was closed, and
			 * the policy forbids reading or closing it. */
			die("stdout or stderr was not open at startup", NULL);
		}
		serve(fd);
	}
}
