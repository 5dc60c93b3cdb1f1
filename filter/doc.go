// Package filter turns the walk of the folders a person picked for a new
// archive into a selection plan: which files go in and, for every file left
// out, why.
//
// The package is pure logic over the entries it is handed. The only I/O it
// causes goes through the two small interfaces it declares: [Hasher] (the
// SHA-256 of a file, normally from a hash cache) and [FrozenIndex] (where a
// file is already kept). Hasher is called only when the frozen filter is on,
// so a plan without it reads no file contents.
//
// Filters toggle a file's selected state and keep it in the plan with its
// reasons, as the manual's archive dialog does; only the explicit "drop
// unselected" step removes rows, and the summary still counts what it removed.
//
// Directories follow their contents: a directory is selected when something
// beneath it is selected, or when it was empty in the source and no
// exclusion covers it (so empty folders survive a restore). A directory whose
// contents were all left out stays in the plan, unselected, with the reason
// "nothing-selected".
//
// Special files (devices, sockets, FIFOs) are never selected: reason
// "special".
package filter
