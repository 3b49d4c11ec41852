package githubapp

// Permission levels in increasing order of power: a token asking for write
// may be cut from a role that grants write or admin.
var permissionLevels = map[string]int{"read": 1, "write": 2, "admin": 3}

// levelCovers reports whether a grant at level granted allows a request at
// level wanted.
func levelCovers(granted, wanted string) bool {
	return permissionLevels[granted] >= permissionLevels[wanted]
}
