// values.go - the case format's values (tests/contract/README.md): the
// generators expanded before a step runs, paths into a result, and the
// matchers of `expect`. Everything here works on decoded JSON (nil, bool,
// float64, string, []interface{}, map[string]interface{}).
package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

type stepFailure struct{ why string }

func (f stepFailure) Error() string { return f.why }

func failf(format string, args ...interface{}) error {
	return stepFailure{fmt.Sprintf(format, args...)}
}

var digits = regexp.MustCompile(`^-?[0-9]+$`)

// expand replaces generator objects, innermost first.
func expand(v interface{}, results map[string]interface{}) (interface{}, error) {
	switch t := v.(type) {
	case []interface{}:
		out := make([]interface{}, len(t))
		for i, x := range t {
			var err error
			if out[i], err = expand(x, results); err != nil {
				return nil, err
			}
		}
		return out, nil
	case map[string]interface{}:
		out := map[string]interface{}{}
		for k, x := range t {
			var err error
			if out[k], err = expand(x, results); err != nil {
				return nil, err
			}
		}
		if len(out) == 1 {
			for k, arg := range out {
				if strings.HasPrefix(k, "$") {
					return generate(k, arg, results)
				}
			}
		}
		return out, nil
	}
	return v, nil
}

func generate(name string, arg interface{}, results map[string]interface{}) (interface{}, error) {
	pair := func() (string, int) {
		a, _ := arg.([]interface{})
		if len(a) != 2 {
			return "", -1
		}
		s, _ := a[0].(string)
		n, _ := a[1].(float64)
		return s, int(n)
	}
	switch name {
	case "$repeat":
		s, n := pair()
		return strings.Repeat(s, n), nil
	case "$seq":
		p, n := pair()
		out := make([]interface{}, n)
		for i := range out {
			out[i] = p + strconv.Itoa(i)
		}
		return out, nil
	case "$sha256":
		s, _ := arg.(string)
		sum := sha256.Sum256([]byte(s))
		return hex.EncodeToString(sum[:]), nil
	case "$tree":
		s, _ := arg.(string)
		return filepath.Join(os.Getenv("MNEMO_CONTRACT_ROOT"), s), nil
	case "$ref":
		ref, _ := arg.(string)
		label, rest, _ := strings.Cut(ref, ".")
		res, ok := results[label]
		if !ok {
			return nil, failf("$ref %s: no step labelled %s", ref, label)
		}
		var segs []string
		if rest != "" {
			segs = strings.Split(rest, ".")
		}
		v, err := resolve(res, segs)
		if err != nil {
			return nil, failf("$ref %s: %v", ref, err)
		}
		return v, nil
	}
	// Not a generator: an object with one `$` key is a matcher, kept as is.
	return map[string]interface{}{name: arg}, nil
}

func resolve(v interface{}, segs []string) (interface{}, error) {
	if len(segs) == 0 {
		return v, nil
	}
	seg, rest := segs[0], segs[1:]
	switch t := v.(type) {
	case []interface{}:
		if seg == "*" {
			out := make([]interface{}, len(t))
			for i, el := range t {
				var err error
				if out[i], err = resolve(el, rest); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
		i, err := strconv.Atoi(seg)
		if err != nil {
			return nil, fmt.Errorf("'%s' on an array", seg)
		}
		if i < 0 {
			i += len(t)
		}
		if i < 0 || i >= len(t) {
			return nil, fmt.Errorf("index %s out of range (%d elements)", seg, len(t))
		}
		return resolve(t[i], rest)
	case map[string]interface{}:
		if x, ok := t[seg]; ok {
			return resolve(x, rest)
		}
	}
	return nil, fmt.Errorf("no '%s'", seg)
}

func asNumber(v interface{}) (float64, bool) {
	switch t := v.(type) {
	case float64:
		return t, true
	case string:
		if digits.MatchString(t) {
			f, err := strconv.ParseFloat(t, 64)
			return f, err == nil
		}
	}
	return 0, false
}

func equal(a, b interface{}) bool {
	_, aNum := a.(float64)
	_, bNum := b.(float64)
	if aNum || bNum {
		x, ok1 := asNumber(a)
		y, ok2 := asNumber(b)
		return ok1 && ok2 && x == y
	}
	switch x := a.(type) {
	case []interface{}:
		y, ok := b.([]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for i := range x {
			if !equal(x[i], y[i]) {
				return false
			}
		}
		return true
	case map[string]interface{}:
		y, ok := b.(map[string]interface{})
		if !ok || len(x) != len(y) {
			return false
		}
		for k, xv := range x {
			yv, ok := y[k]
			if !ok || !equal(xv, yv) {
				return false
			}
		}
		return true
	}
	return a == b
}

func isDefault(v interface{}) bool {
	switch t := v.(type) {
	case nil:
		return true
	case bool:
		return !t
	case string:
		if n, ok := asNumber(t); ok {
			return n == 0
		}
		return t == ""
	case float64:
		return t == 0
	case []interface{}:
		return len(t) == 0
	case map[string]interface{}:
		return len(t) == 0
	}
	return false
}

func length(v interface{}) (int, bool) {
	switch t := v.(type) {
	case string:
		return len(t), true // bytes of UTF-8
	case []interface{}:
		return len(t), true
	case map[string]interface{}:
		return len(t), true
	}
	return 0, false
}

func unordered(got interface{}, want []interface{}) bool {
	g, ok := got.([]interface{})
	if !ok || len(g) != len(want) {
		return false
	}
	left := append([]interface{}{}, g...)
	for _, w := range want {
		found := -1
		for i, x := range left {
			if equal(x, w) {
				found = i
				break
			}
		}
		if found < 0 {
			return false
		}
		left = append(left[:found], left[found+1:]...)
	}
	return true
}

func sorted(v interface{}, dir string) bool {
	a, ok := v.([]interface{})
	if !ok {
		return false
	}
	for i := 1; i < len(a); i++ {
		x, ok1 := asNumber(a[i-1])
		y, ok2 := asNumber(a[i])
		if !ok1 || !ok2 || (dir == "asc" && x > y) || (dir == "desc" && x < y) {
			return false
		}
	}
	return true
}

func match(name string, v, arg interface{}) (bool, error) {
	switch name {
	case "$set":
		want, _ := arg.(bool)
		return isDefault(v) != want, nil
	case "$len":
		n, ok := length(v)
		want, _ := arg.(float64)
		return ok && float64(n) == want, nil
	case "$gte", "$lte":
		x, ok := asNumber(v)
		y, _ := arg.(float64)
		return ok && ((name == "$gte" && x >= y) || (name == "$lte" && x <= y)), nil
	case "$in", "$contains":
		list, _ := arg.([]interface{})
		if name == "$contains" {
			list, _ = v.([]interface{})
			v, arg = arg, v
		}
		for _, x := range list {
			if equal(v, x) {
				return true, nil
			}
		}
		return false, nil
	case "$unordered":
		list, _ := arg.([]interface{})
		return unordered(v, list), nil
	case "$sorted":
		dir, _ := arg.(string)
		return sorted(v, dir), nil
	}
	return false, fmt.Errorf("unknown matcher %s", name)
}

func isMatcher(w interface{}) (map[string]interface{}, bool) {
	m, ok := w.(map[string]interface{})
	if !ok || len(m) == 0 {
		return nil, false
	}
	for k := range m {
		if !strings.HasPrefix(k, "$") {
			return nil, false
		}
	}
	return m, true
}

func show(v interface{}) string {
	b, _ := json.Marshal(v)
	if len(b) > 200 {
		return string(b[:200]) + "..."
	}
	return string(b)
}

// outcome is what one attempt of a step produced.
type outcome struct {
	code    string
	message string
	result  interface{} // nil: no result
}

// check returns nil when the step's code, message and assertions hold.
func check(step map[string]interface{}, expect map[string]interface{}, got outcome) error {
	want, _ := step["code"].(string)
	if want == "" {
		want = "OK"
	}
	if got.code != want {
		msg := ""
		if got.message != "" {
			msg = " (" + got.message + ")"
		}
		return failf("want code %s, got %s%s", want, got.code, msg)
	}
	if sub, ok := step["message_contains"].(string); ok && !strings.Contains(got.message, sub) {
		return failf("want a message containing %q, got %q", sub, got.message)
	}
	for path, w := range expect {
		if got.result == nil {
			return failf("%s: no result", path)
		}
		v, err := resolve(got.result, strings.Split(path, "."))
		if err != nil {
			return failf("%s: %v", path, err)
		}
		if m, ok := isMatcher(w); ok {
			for name, arg := range m {
				ok, err := match(name, v, arg)
				if err != nil {
					return failf("%s: %v", path, err)
				}
				if !ok {
					return failf("%s: want %s %s, got %s", path, name, show(arg), show(v))
				}
			}
		} else if !equal(v, w) {
			return failf("%s: want %s, got %s", path, show(w), show(v))
		}
	}
	return nil
}
