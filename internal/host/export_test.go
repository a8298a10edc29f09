package host

// UserHost is userHost, for the tests of package host_test.
var UserHost = userHost
