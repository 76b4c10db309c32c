package contract

import (
	"fmt"
	"strings"
	"testing"

	"github.com/agenda-gpt/agenda"
)

// TestLimitsLiveOnce: the limits openapi.yaml states are the domain's
// constants, for every operation that takes the field, so the spec a
// model reads and the rules the server applies cannot drift apart.
func TestLimitsLiveOnce(t *testing.T) {
	c, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	maxLength := map[string]int{
		"title": agenda.MaxTitleLength, "location": agenda.MaxLocationLen, "notes": agenda.MaxNotesLength,
		"request_id": agenda.MaxRequestIDLen, "time_zone": agenda.MaxTimeZoneLen, "q": agenda.MaxTextQueryLen,
	}
	seen := map[string]bool{}
	for _, op := range c.Operations() {
		for name, ref := range op.input.Properties {
			s := ref.Value
			if want, ok := maxLength[name]; ok {
				seen[name] = true
				if s.MaxLength == nil || int(*s.MaxLength) != want {
					t.Errorf("%s.%s: maxLength %v in openapi.yaml, %d in the domain", op.ID, name, s.MaxLength, want)
				}
			}
			if name == "limit" {
				seen[name] = true
				if s.Min == nil || *s.Min != 1 || s.Max == nil || int(*s.Max) != agenda.MaxLimit || s.Default != float64(agenda.DefaultLimit) {
					t.Errorf("%s.limit: %v..%v default %v in openapi.yaml, 1..%d default %d in the domain", op.ID, s.Min, s.Max, s.Default, agenda.MaxLimit, agenda.DefaultLimit)
				}
				// The words a model reads say the same.
				for _, words := range []string{fmt.Sprintf("from 1 to %d", agenda.MaxLimit), fmt.Sprintf("Defaults to %d", agenda.DefaultLimit)} {
					if !strings.Contains(s.Description, words) {
						t.Errorf("%s.limit: the description %q does not say %q", op.ID, s.Description, words)
					}
				}
			}
		}
	}
	for name := range maxLength {
		if !seen[name] {
			t.Errorf("no operation takes %s: the check above tested nothing for it", name)
		}
	}
	if !seen["limit"] {
		t.Error("no operation takes limit")
	}
}
