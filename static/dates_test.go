package static

import (
	"os"
	"os/exec"
	"testing"

	"github.com/agenda-gpt/agenda/internal/testenv"
)

// zones the page's date logic is tested in: one with a DST change in the
// tested range, one across the Atlantic with its own, one far from UTC,
// and UTC itself.
var zones = []string{"Europe/Paris", "America/New_York", "Pacific/Kiritimati", "UTC"}

// TestDatesModule runs dates.test.js with node --test, once per zone the
// "browser" could be in.
func TestDatesModule(t *testing.T) {
	node, err := exec.LookPath("node")
	if err != nil {
		testenv.Missing(t, "the front end's unit tests", "Node.js 20 or later (apt-get install nodejs)", err)
	}
	for _, zone := range zones {
		t.Run(zone, func(t *testing.T) {
			t.Parallel()
			cmd := exec.Command(node, "--test", "--test-reporter=dot", "dates.test.js")
			cmd.Env = append(os.Environ(), "TZ="+zone, "NODE_OPTIONS=")
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("node --test in %s: %v\n%s", zone, err, out)
			}
		})
	}
}
