package firedancer

// fdArgTypes is the table of prototypes of Firedancer's generator
// (SYSCALL_ARGS in contrib/codegen/generate_filters.py at commit 178b48fe,
// the corpus's): for each syscall, its six arguments as 'i' (`int`: the
// generator compares the low 32 bits), 'l' (`long`: all 64 bits) or '-'
// (untyped: the generator refuses a comparison on it). A syscall missing
// here cannot be compared on at all.
var fdArgTypes = map[string]string{
	"accept4":           "illi--",
	"bind":              "ili---",
	"clock_nanosleep":   "iill--",
	"close":             "i-----",
	"connect":           "ili---",
	"copy_file_range":   "ililli",
	"exit_group":        "i-----",
	"exit":              "i-----",
	"fallocate":         "iill--",
	"fcntl":             "iil---",
	"fstat":             "il----",
	"fsync":             "i-----",
	"ftruncate":         "il----",
	"futex":             "liilli",
	"getdents64":        "ili---",
	"getsockopt":        "iiill-",
	"ioctl":             "iil---",
	"io_uring_enter":    "iiiili",
	"io_uring_register": "iili--",
	"kill":              "ii----",
	"lseek":             "ili---",
	"madvise":           "lli---",
	"newfstatat":        "illi--",
	"poll":              "lii---",
	"ppoll":             "lilll-",
	"pread64":           "illl--",
	"pselect6":          "illlll",
	"preadv2":           "ililli",
	"pwrite64":          "illl--",
	"pwritev2":          "ililli",
	"read":              "ill---",
	"recvfrom":          "illill",
	"recvmmsg":          "iliil-",
	"recvmsg":           "ili---",
	"renameat":          "ilil--",
	"renameat2":         "ilili-",
	"sendmmsg":          "ilii--",
	"sendmsg":           "ili---",
	"sendto":            "illili",
	"setsockopt":        "iiili-",
	"shutdown":          "ii----",
	"socket":            "iii---",
	"wait4":             "ilil--",
	"write":             "ill---",
	"writev":            "ill---",
}

// argIs32 reports whether the generator compares argument arg of syscall
// on its low 32 bits (true) or on all 64 (false); ok is false when it
// cannot compare it.
func argIs32(syscall string, arg int) (is32, ok bool) {
	row, found := fdArgTypes[syscall]
	if !found || arg < 0 || arg >= len(row) {
		return false, false
	}
	switch row[arg] {
	case 'i':
		return true, true
	case 'l':
		return false, true
	}
	return false, false
}
