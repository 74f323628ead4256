// Command runner_go runs the contract suite (tests/contract/README.md)
// through the Go client, client/go (mnemo.dev/client/go on grpc-go).
//
//	MNEMO_SERVER=... MNEMO_CONTRACT_ROOT=... runner_go CASES_JSON [CASE...]
//
// (run_with_server.sh sets both.) Built by client/go/build.sh's GOPATH:
// see tests/clients/CMakeLists.txt.
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	mnemo "mnemo.dev/client/go"
)

var ops = map[string]bool{"call": true, "stream": true, "pages": true, "tree": true,
	"list_services": true, "reflect_call": true}

type caseFile struct {
	Cases []struct {
		Name  string                   `json:"name"`
		Steps []map[string]interface{} `json:"steps"`
	} `json:"cases"`
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(args []string) int {
	cases, err := load(args)
	if err != nil {
		fmt.Fprintf(os.Stderr, "runner_go: %v\n", err)
		return 2
	}
	c, err := mnemo.Dial(os.Getenv("MNEMO_SERVER"))
	if err != nil {
		fmt.Fprintf(os.Stderr, "runner_go: %v\n", err)
		return 2
	}
	defer c.Close()
	r := &runner{client: c, methods: unaryMethods(c)}
	count := map[string]int{}
	for _, cs := range cases.Cases {
		line := r.runCase(cs.Name, cs.Steps)
		count[strings.Fields(line)[0]]++
		fmt.Println(line)
	}
	fmt.Printf("contract go: %d passed, %d failed, %d skipped of %d cases\n",
		count["PASS"], count["FAIL"], count["SKIP"], len(cases.Cases))
	if count["FAIL"] > 0 {
		return 1
	}
	return 0
}

func load(args []string) (*caseFile, error) {
	if len(args) < 1 {
		return nil, fmt.Errorf("usage: runner_go CASES_JSON [CASE_NAME...]")
	}
	if os.Getenv("MNEMO_SERVER") == "" || os.Getenv("MNEMO_CONTRACT_ROOT") == "" {
		return nil, fmt.Errorf("MNEMO_SERVER and MNEMO_CONTRACT_ROOT must be set (run_with_server.sh sets them)")
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		return nil, err
	}
	cf := &caseFile{}
	if err := json.Unmarshal(b, cf); err != nil {
		return nil, fmt.Errorf("%s: %v", args[0], err)
	}
	if len(args) > 1 {
		want := map[string]bool{}
		for _, n := range args[1:] {
			want[n] = true
		}
		kept := cf.Cases[:0]
		for _, c := range cf.Cases {
			if want[c.Name] {
				kept = append(kept, c)
			}
		}
		cf.Cases = kept
	}
	return cf, nil
}

func (r *runner) runCase(name string, steps []map[string]interface{}) string {
	for _, s := range steps {
		if op, _ := s["op"].(string); !ops[op] {
			return fmt.Sprintf("SKIP %s: op %s not implemented", name, op)
		}
	}
	results := map[string]interface{}{}
	for i, s := range steps {
		if err := r.runStep(s, results); err != nil {
			label, _ := s["label"].(string)
			if label == "" {
				label, _ = s["op"].(string)
			}
			if _, ok := err.(stepFailure); !ok {
				err = fmt.Errorf("runner error: %v", err)
			}
			return fmt.Sprintf("FAIL %s: step %d (%s): %v", name, i, label, err)
		}
	}
	return "PASS " + name
}

func (r *runner) runStep(step map[string]interface{}, results map[string]interface{}) error {
	retry, _ := step["retry_ms"].(float64)
	until := time.Now().Add(time.Duration(retry) * time.Millisecond)
	for {
		got, err := r.attempt(step, results)
		if err != nil {
			return err
		}
		if label, _ := step["label"].(string); label != "" {
			results[label] = got.result
		}
		expect, err := expand(step["expect"], results)
		if err != nil {
			return err
		}
		em, _ := expect.(map[string]interface{})
		err = check(step, em, got)
		if err == nil || !time.Now().Before(until) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (r *runner) attempt(step map[string]interface{}, results map[string]interface{}) (outcome, error) {
	op, _ := step["op"].(string)
	request, err := expand(step["request"], results)
	if err != nil {
		return outcome{}, err
	}
	if request == nil {
		request = map[string]interface{}{}
	}
	ms, _ := step["timeout_ms"].(float64)
	if ms == 0 {
		ms = 15000
		if op == "stream" {
			ms = 60000
		}
	}
	timeout := time.Duration(ms) * time.Millisecond
	switch op {
	case "call":
		method, _ := step["method"].(string)
		return r.unaryCall(method, request, timeout)
	case "stream":
		return r.opStream(step, request, timeout)
	case "pages":
		return r.opPages(step, request, timeout)
	case "tree":
		return outcome{code: "OK"}, makeTree(step)
	case "list_services":
		return r.opListServices(timeout)
	case "reflect_call":
		return r.opReflectCall(step, request, timeout)
	}
	return outcome{}, failf("unknown op %s", op)
}

func makeTree(step map[string]interface{}) error {
	name, _ := step["name"].(string)
	n, _ := step["files"].(float64)
	dir := filepath.Join(os.Getenv("MNEMO_CONTRACT_ROOT"), name)
	if err := os.Mkdir(dir, 0o755); err != nil {
		return failf("tree: %v", err)
	}
	for i := 0; i < int(n); i++ {
		text := fmt.Sprintf("/* contract tree %s file %d */\nint %s%05dq(int x)\n{\n    return x + %d;\n}\n",
			name, i, name, i, i)
		if err := os.WriteFile(filepath.Join(dir, fmt.Sprintf("f%04d.c", i)), []byte(text), 0o644); err != nil {
			return failf("tree: %v", err)
		}
	}
	return nil
}
