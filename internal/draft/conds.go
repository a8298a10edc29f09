package draft

// condition is what Write puts on the syscall besides its name.
func (d *doc) condition(name string) cond {
	return cond{}
}
