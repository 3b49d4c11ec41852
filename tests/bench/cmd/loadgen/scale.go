package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"time"
)

// benchScale writes SCALE_ROLES roles, lists them, mints once from each,
// then mints from the 500-repository role.
func benchScale(ctx context.Context, b *bench) error {
	if err := b.setup(ctx); err != nil {
		return err
	}
	before, err := b.main.roleCount(ctx)
	if err != nil {
		return err
	}
	body, err := json.Marshal(map[string]any{
		"installation_id": strconv.FormatInt(b.emu.OrgInstallationID, 10),
		"repositories":    []string{"api", "web"},
		"permissions":     []string{"contents=read"},
	})
	if err != nil {
		return err
	}
	// No warm-up: it would write the first roles twice.
	each := func(label string, clients int, path string, total int) row {
		return row{label: label, vault: b.main, clients: clients, path: path, total: total}
	}
	write := each("roles-write", b.s.scaleClients, "github/roles/scale-{i}", b.s.scaleRoles)
	write.method, write.body = http.MethodPost, string(body)
	var all []report
	measure := func(r row) error {
		rep, err := b.measure(ctx, r)
		all = append(all, rep)
		return err
	}
	if err := measure(write); err != nil {
		return err
	}
	if err := measure(each("roles-list", 1, "github/roles?list=true", 20)); err != nil {
		return err
	}
	listed, err := b.main.roleCount(ctx)
	if err != nil {
		return err
	}
	if listed != b.s.scaleRoles+before {
		return fmt.Errorf("listed %d roles, wrote %d", listed, b.s.scaleRoles+before)
	}
	// Each role minted once: every read misses the role cache.
	if err := measure(each("mint-each-role", b.s.scaleClients, "github/token/scale-{i}", b.s.scaleRoles)); err != nil {
		return err
	}
	repos500 := b.timed("repos500", b.main, 4, "github/token/repos500")
	repos500.warmup = 2 * time.Second
	if err := measure(repos500); err != nil {
		return err
	}
	scaleTable(os.Stdout, all, b.s.scaleRoles, listed)
	return nil
}
