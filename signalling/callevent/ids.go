package callevent

// MaxIDLength is the longest call_id or party_id the grammar allows.
const MaxIDLength = 255

// ValidID reports whether s follows the grammar for VoIP ids (call_id, party_id):
// 1-255 characters of [0-9a-zA-Z._~-] (spec "Grammar for VoIP IDs").
func ValidID(s string) bool {
	if len(s) == 0 || len(s) > MaxIDLength {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9', c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c == '.', c == '_', c == '~', c == '-':
		default:
			return false
		}
	}
	return true
}
