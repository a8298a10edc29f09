package plan

// Note is something on a host that a plan leaves alone, and why: a file
// with fencer's header that it does not plan and cannot or does not
// delete, a file a destroy leaves because it is not the configuration's.
// The plan's view (package views) says it in words.
type Note struct {
	Kind NoteKind `json:"kind"`
	// Path is the file left alone, Role its role ("drop-in") and Unit
	// the service unit it is for, as its header says.
	Path string `json:"path"`
	Role Role   `json:"role,omitempty"`
	Unit string `json:"unit,omitempty"`
	// Owner is the configuration another configuration's file belongs to
	// (its header's id), "" for a file without fencer's header
	// (NoteDestroyLeaves, NoteForeignDropIn).
	Owner string `json:"owner,omitempty"`
	// ID is the configuration's own id, its directory's name
	// (NoteDefaultID).
	ID string `json:"id,omitempty"`
	// DropIn is the drop-in that runs a filter (NoteForeignDropIn).
	DropIn string `json:"drop_in,omitempty"`
}

// NoteKind says why a plan leaves a file alone.
type NoteKind string

// Why a plan leaves a file alone.
const (
	// NoteLegacyHeader: the file has the header of a fencer from before
	// configurations had ids, so whose it is is unknown.
	NoteLegacyHeader NoteKind = "legacy header"
	// NoteNoLongerPlanned: the file is the configuration's Role for
	// Unit, which is still planned but no longer gets that file; plan
	// read it as part of the unit and leaves it.
	NoteNoLongerPlanned NoteKind = "no longer planned"
	// NoteDefaultID: the file is a Role for Unit of configuration ID,
	// which the configuration no longer plans; ID is only the
	// configuration's default id (its directory's name), which another
	// configuration may have too.
	NoteDefaultID NoteKind = "default id"
	// NoteDestroyLeaves: a destroy leaves the file, which is not the
	// configuration's (Owner's, or nobody's).
	NoteDestroyLeaves NoteKind = "destroy leaves"
	// NoteForeignDropIn: the filter at Path is run by DropIn, which is
	// not the configuration's (Owner's, or nobody's).
	NoteForeignDropIn NoteKind = "foreign drop-in"
)
