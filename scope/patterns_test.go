package scope

import (
	"reflect"
	"testing"
)

func TestExpand(t *testing.T) {
	installation := []string{"team-a-web", "Team-A-API", "billing-service", "team-b"}
	for _, tc := range []struct {
		entries []string
		want    []string
		err     bool
	}{
		{[]string{"team-a-*"}, []string{"team-a-web"}, false}, // case-sensitive: not Team-A-API
		{[]string{"Team-A-*"}, []string{"Team-A-API"}, false},
		{[]string{"*-service", "team-b"}, []string{"team-b", "billing-service"}, false},
		{[]string{"team-?"}, []string{"team-b"}, false},
		{[]string{"TEAM-B", "team-*"}, []string{"TEAM-B", "team-a-web"}, false}, // a literal's name is not added twice
		{[]string{"nothing-*"}, nil, true},
		{[]string{"api"}, []string{"api"}, false}, // no pattern: left as is
	} {
		got, err := Expand(Scope{Repositories: tc.entries}, installation)
		if (err != nil) != tc.err || (err == nil && !reflect.DeepEqual(got.Repositories, tc.want)) {
			t.Errorf("Expand(%v) = %v, %v; want %v (error %t)", tc.entries, got.Repositories, err, tc.want, tc.err)
		}
	}
}
