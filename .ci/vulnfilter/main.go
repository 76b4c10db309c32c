// Command vulnfilter reads govulncheck's JSON stream and prints the ids of
// the vulnerabilities whose code is called (a finding with a function in its
// trace), one per line, for .ci/run to compare with the accepted ones.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"sort"
)

func main() {
	dec := json.NewDecoder(os.Stdin)
	called := map[string]bool{}
	for {
		var msg struct {
			Finding *struct {
				OSV   string `json:"osv"`
				Trace []struct {
					Function string `json:"function"`
				} `json:"trace"`
			} `json:"finding"`
		}
		if err := dec.Decode(&msg); err == io.EOF {
			break
		} else if err != nil {
			log.Fatalf("vulnfilter: %v", err)
		}
		if f := msg.Finding; f != nil && len(f.Trace) > 0 && f.Trace[0].Function != "" {
			called[f.OSV] = true
		}
	}
	ids := make([]string, 0, len(called))
	for id := range called {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		fmt.Println(id)
	}
}
