package botapi

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
)

var splitSeeds = []struct {
	answer string
	ok     bool // whether splitResult must take it
}{
	{`{"ok":true,"result":[]}`, true},
	{`{"ok":true,"result":[ ] } `, true},
	{`{"ok":true,"result":[{"update_id":1,"message":{"text":"a \"b\" \\ \/ \u00e9 \n","n":-1.5e+3,"z":0,"t":true,"f":false,"x":null,"a":[1,[2,{}],[]]}}, {"update_id":2}]}`, true},
	{`{"ok":true,"result":[{"update_id":3,"message":{"text":"` + "\xff\xfe" + `"}}]}`, true},
	{`{"ok":true,"result":[1,"s",null]}`, true},
	{`{"ok":false,"error_code":409,"description":"Conflict"}`, false},
	{`{"result":[],"ok":true}`, false},
	{`{"ok":true,"result":[{"update_id":1}]`, false},
	{`{"ok":true,"result":[{"update_id":1},]}`, false},
	{`{"ok":true,"result":[{"update_id":01}]}`, false},
	{`{"ok":true,"result":[{"update_id":1.}]}`, false},
	{`{"ok":true,"result":[{"a":"\x"}]}`, false},
	{`{"ok":true,"result":[{"a":"\u12"}]}`, false},
	{`{"ok":true,"result":[{"a":"` + "\x01" + `"}]}`, false},
	{`{"ok":true,"result":[{"a" 1}]}`, false},
	{`{"ok":true,"result":[tru]}`, false},
	{`{"ok":true,"result":[]}x`, false},
	{`{"ok":true,"result":[` + strings.Repeat("[", 100) + strings.Repeat("]", 100) + `]}`, false},
}

func TestSplitResultMatchesEncodingJSON(t *testing.T) {
	for _, s := range splitSeeds {
		elems, ok := splitResult([]byte(s.answer))
		if ok != s.ok {
			t.Errorf("%s: split %v, want %v", s.answer, ok, s.ok)
		}
		if ok {
			checkSplit(t, []byte(s.answer), elems)
		}
	}
}

func TestSplitResultCopies(t *testing.T) {
	answer := []byte(`{"ok":true,"result":[{"update_id":1}]}`)
	elems, ok := splitResult(answer)
	if !ok {
		t.Fatal("declined")
	}
	copy(answer, bytes.Repeat([]byte("x"), len(answer)))
	if string(elems[0]) != `{"update_id":1}` {
		t.Fatalf("element changed with the buffer it came from: %s", elems[0])
	}
}

func checkSplit(t *testing.T, answer []byte, elems []json.RawMessage) {
	t.Helper()
	var r struct {
		Result []json.RawMessage `json:"result"`
	}
	if err := json.Unmarshal(answer, &r); err != nil {
		t.Fatalf("split %q, which encoding/json refuses: %v", answer, err)
	}
	if len(r.Result) != len(elems) {
		t.Fatalf("%q: %d elements, want %d", answer, len(elems), len(r.Result))
	}
	for i := range elems {
		if !bytes.Equal(elems[i], r.Result[i]) {
			t.Fatalf("%q: element %d is %q, want %q", answer, i, elems[i], r.Result[i])
		}
	}
}

func FuzzSplitResult(f *testing.F) {
	for _, s := range splitSeeds {
		f.Add([]byte(s.answer))
	}
	f.Fuzz(func(t *testing.T, answer []byte) {
		if elems, ok := splitResult(answer); ok {
			checkSplit(t, answer, elems)
		}
	})
}

func BenchmarkSplitResult(b *testing.B) {
	var sb strings.Builder
	sb.WriteString(`{"ok":true,"result":[`)
	for i := range 100 {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(`{"update_id":5,"message":{"message_id":1,"from":{"id":7,"is_bot":false,"first_name":"User","last_name":"7","username":"user7"},"chat":{"id":7,"first_name":"User","username":"user7","type":"private"},"date":1733000000,"text":"12.5 coffee"}}`)
	}
	sb.WriteString(`]}`)
	answer := []byte(sb.String())
	b.Run("split", func(b *testing.B) {
		b.SetBytes(int64(len(answer)))
		for b.Loop() {
			if _, ok := splitResult(answer); !ok {
				b.Fatal("declined")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		b.SetBytes(int64(len(answer)))
		for b.Loop() {
			var r struct {
				Result []json.RawMessage `json:"result"`
			}
			if err := json.Unmarshal(answer, &r); err != nil {
				b.Fatal(err)
			}
		}
	})
}
