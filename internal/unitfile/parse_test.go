package unitfile

import (
	"reflect"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name     string
		in       string
		want     []Entry
		warnings []string
	}{
		{
			name: "basic",
			in:   "[Unit]\nDescription = hello world \n\n[Service]\nExecStart=/bin/true\n",
			want: []Entry{
				{"Unit", "Description", "hello world", 2},
				{"Service", "ExecStart", "/bin/true", 5},
			},
		},
		{
			name: "comments",
			in:   "# c\n; c\n[Service]\n  # indented comment\nA=1 # not a comment\n",
			want: []Entry{{"Service", "A", "1 # not a comment", 5}},
		},
		{
			name: "continuation",
			in:   "[Service]\nExecStart=/bin/echo a \\\n  b \\\n c\nB=2\n",
			want: []Entry{
				{"Service", "ExecStart", "/bin/echo a    b   c", 2},
				{"Service", "B", "2", 5},
			},
		},
		{
			name: "comment inside continuation is skipped",
			in:   "[Service]\nA=x \\\n# comment\ny\n",
			want: []Entry{{"Service", "A", "x  y", 2}},
		},
		{
			name: "escaped backslash does not continue",
			in:   "[Service]\nA=x\\\\\nB=y\n",
			want: []Entry{{"Service", "A", `x\\`, 2}, {"Service", "B", "y", 3}},
		},
		{
			name: "blank line ends continuation",
			in:   "[Service]\nA=x \\\n\nB=y\n",
			want: []Entry{{"Service", "A", "x", 2}, {"Service", "B", "y", 4}},
		},
		{
			name: "continuation at end of file",
			in:   "[Service]\nA=x \\",
			want: []Entry{{"Service", "A", "x", 2}},
		},
		{
			name: "crlf and bom",
			in:   "\ufeff[Service]\r\nA=1\r\nB=2",
			want: []Entry{{"Service", "A", "1", 2}, {"Service", "B", "2", 3}},
		},
		{
			name: "empty value",
			in:   "[Service]\nExecStart=\n",
			want: []Entry{{"Service", "ExecStart", "", 2}},
		},
		{
			name:     "ignored lines",
			in:       "A=outside\n[Service]\nnoequals\n=novalue\nB=1\n",
			want:     []Entry{{"Service", "B", "1", 5}},
			warnings: []string{"f:1: assignment outside of section, ignoring", "f:3: missing '=', ignoring line", "f:4: missing key name before '=', ignoring line"},
		},
		{
			name: "value with equals",
			in:   "[Service]\nEnvironment=A=b=c\n",
			want: []Entry{{"Service", "Environment", "A=b=c", 2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse("f", []byte(tt.in))
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(f.Entries, tt.want) {
				t.Errorf("entries:\n got %+v\nwant %+v", f.Entries, tt.want)
			}
			if !reflect.DeepEqual(f.Warnings, tt.warnings) {
				t.Errorf("warnings:\n got %q\nwant %q", f.Warnings, tt.warnings)
			}
		})
	}
}

func TestParseBadSection(t *testing.T) {
	_, err := Parse("/etc/x.service", []byte("[Service\nA=1\n"))
	if err == nil || !strings.Contains(err.Error(), "/etc/x.service:1: invalid section header") {
		t.Fatalf("err = %v", err)
	}
}

func TestValues(t *testing.T) {
	f, err := Parse("f", []byte("[Service]\nX=1\nX=2\nX=\nX=3\n[Other]\nX=4\n"))
	if err != nil {
		t.Fatal(err)
	}
	if got := f.Values("Service", "X"); !reflect.DeepEqual(got, []string{"3"}) {
		t.Errorf("Values = %q", got)
	}
}
