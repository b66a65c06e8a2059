package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// maxBody bounds a request body: Telegram takes photos up to 10 MB and other files up to
// 50 MB; a bit more room lets the emulator answer "too big" itself instead of a dropped
// connection.
const maxBody = 52 << 20

// params are a method's parameters, however they were sent. Telegram accepts the same
// parameters as a JSON object, as a query string, urlencoded or as multipart form fields;
// in the form encodings, objects (reply_markup, reply_parameters) are JSON-serialized
// strings.
type params struct {
	json  map[string]json.RawMessage
	form  url.Values
	files map[string][]byte
	names map[string]string // the files' names
}

func readParams(r *http.Request) (params, error) {
	p := params{form: r.URL.Query()}
	if r.Method != http.MethodPost || r.ContentLength == 0 {
		return p, nil
	}
	body := http.MaxBytesReader(nil, r.Body, maxBody)
	ct, ctParams, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		raw, err := io.ReadAll(body)
		if err != nil {
			return p, fmt.Errorf("read JSON body: %w", err)
		}
		if len(bytes.TrimSpace(raw)) == 0 {
			return p, nil
		}
		if err := json.Unmarshal(raw, &p.json); err != nil {
			return p, badRequest("can't parse JSON body: %v", err)
		}
	case "application/x-www-form-urlencoded":
		raw, err := io.ReadAll(body)
		if err != nil {
			return p, fmt.Errorf("read form body: %w", err)
		}
		form, err := url.ParseQuery(string(raw))
		if err != nil {
			return p, badRequest("can't parse form body: %v", err)
		}
		for k, v := range form {
			p.form[k] = v
		}
	case "multipart/form-data":
		mr := multipart.NewReader(body, ctParams["boundary"])
		for {
			part, err := mr.NextPart()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return p, badRequest("can't parse multipart body: %v", err)
			}
			data, err := io.ReadAll(part)
			if err != nil {
				return p, fmt.Errorf("read multipart field %q: %w", part.FormName(), err)
			}
			if part.FileName() != "" {
				if p.files == nil {
					p.files, p.names = make(map[string][]byte), make(map[string]string)
				}
				p.files[part.FormName()], p.names[part.FormName()] = data, part.FileName()
				continue
			}
			p.form.Add(part.FormName(), string(data))
		}
	default:
		// Telegram ignores bodies it cannot read; so do we, parameters may be in the query.
	}
	return p, nil
}

// str returns a parameter as text: a JSON string unquoted, any other JSON value as written.
func (p params) str(name string) (string, bool) {
	if raw, ok := p.json[name]; ok {
		// Only a JSON string needs unquoting; trying to decode a number or an object as
		// one validates it whole and allocates an error, on every request.
		var s string
		if isJSONString(raw) && json.Unmarshal(raw, &s) == nil {
			return s, true
		}
		return string(raw), true
	}
	if v, ok := p.form[name]; ok && len(v) > 0 {
		return v[0], true
	}
	return "", false
}

func (p params) has(name string) bool {
	_, ok := p.str(name)
	return ok
}

// int64 returns an integer parameter; ok is false when absent, err set when not a number.
func (p params) int64(name string) (v int64, ok bool, err error) {
	s, ok := p.str(name)
	if !ok || s == "" {
		return 0, false, nil
	}
	v, err = strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return 0, true, badRequest("%s must be an integer, got %q", name, s)
	}
	return v, true, nil
}

// bool returns a boolean parameter, false when absent.
func (p params) bool(name string) bool {
	s, _ := p.str(name)
	b, _ := strconv.ParseBool(s)
	return b
}

// object decodes an object parameter into v; ok is false when absent. Objects come as JSON
// in a JSON body, and as JSON-serialized strings in form encodings (Telegram accepts both
// in a JSON body too).
func (p params) object(name string, v any) (ok bool, err error) {
	var raw []byte
	if r, found := p.json[name]; found {
		raw = r
		var s string
		if isJSONString(r) && json.Unmarshal(r, &s) == nil {
			raw = []byte(s)
		}
	} else if f, found := p.form[name]; found && len(f) > 0 {
		raw = []byte(f[0])
	} else {
		return false, nil
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return false, nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return true, badRequest("can't parse %s JSON object", name)
	}
	return true, nil
}

// isJSONString reports whether raw, a JSON value as the decoder kept it (no leading
// space), is a string.
func isJSONString(raw []byte) bool { return len(raw) > 0 && raw[0] == '"' }
