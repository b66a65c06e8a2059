package intake

import "testing"

func TestPeekUpdateID(t *testing.T) {
	tests := []struct {
		raw string
		id  int64
		ok  bool
	}{
		{`{"update_id":123,"message":{}}`, 123, true},
		{`{"update_id":7}`, 7, true},
		{`{"update_id": 7}`, 0, false}, // not Telegram's shape: the full decoder decides
		{`{"message":{},"update_id":7}`, 0, false},
		{`{"update_id":-1,`, 0, false},
		{`{"update_id":12x`, 0, false},
		{`{"update_id":`, 0, false},
		{`{"update_id":99999999999999999999999,`, 0, false},
	}
	for _, tt := range tests {
		id, ok := peekUpdateID([]byte(tt.raw))
		if id != tt.id || ok != tt.ok {
			t.Errorf("peekUpdateID(%s) = %d, %v; want %d, %v", tt.raw, id, ok, tt.id, tt.ok)
		}
	}
}
