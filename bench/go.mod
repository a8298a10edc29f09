module github.com/fencer-dev/fencer/bench

// No patch-level minimum: 1.26.0 is Go 1.26 itself, the version golang.org/x/sys
// v0.50.0 declares (go mod tidy writes it so).
go 1.26.0

require (
	github.com/elastic/go-seccomp-bpf v1.6.0
	github.com/fencer-dev/fencer v0.0.0
	github.com/hashicorp/hcl/v2 v2.25.0
	golang.org/x/net v0.62.0
	golang.org/x/sys v0.50.0
)

require (
	github.com/agext/levenshtein v1.2.1 // indirect
	github.com/apparentlymart/go-textseg/v15 v15.0.0 // indirect
	github.com/apparentlymart/go-textseg/v17 v17.0.1 // indirect
	github.com/mitchellh/go-wordwrap v1.0.1 // indirect
	github.com/zclconf/go-cty v1.20.0 // indirect
	golang.org/x/mod v0.42.0 // indirect
	golang.org/x/sync v0.25.0 // indirect
	golang.org/x/text v0.44.0 // indirect
	golang.org/x/tools v0.52.0 // indirect
)

replace github.com/fencer-dev/fencer => ../
