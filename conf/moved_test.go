package conf

import "testing"

// TestMovedKeysNameKeysOfTheSchema guards movedKeys: every new key is in
// Config, and no old key is, so that a file cannot set one value twice.
func TestMovedKeysNameKeysOfTheSchema(t *testing.T) {
	for _, m := range movedKeys {
		if schemaType(m.to) == nil {
			t.Errorf("%s moved to %s, which Config does not have", m.from, m.to)
		}
		if schemaType(m.from) != nil {
			t.Errorf("%s moved to %s, but Config still has it", m.from, m.to)
		}
	}
}
