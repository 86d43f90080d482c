// Package yamlx holds what gigvault's line-numbered YAML registries (the PI
// catalog, the business functions, the third-party registry) share: strict
// decoding of one node, and yaml errors split into a file line and a
// message.
package yamlx

import (
	"bytes"
	"errors"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DecodeStrict decodes n into v, refusing unknown keys. yaml.Node.Decode
// has no KnownFields switch, so the node is re-encoded and decoded strictly;
// the error carries no line number, since yaml's would count from the start
// of the re-encoded node, not the file — callers add the node's own line.
func DecodeStrict(n *yaml.Node, v any) error {
	b, err := yaml.Marshal(n)
	if err != nil {
		return err
	}
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(v); err != nil {
		s := strings.TrimPrefix(err.Error(), "yaml: unmarshal errors:\n  ")
		return errors.New(lineRE.ReplaceAllString(s, ""))
	}
	return nil
}

var lineRE = regexp.MustCompile(`line (\d+): `)

// Split turns an error from decoding a whole file into the file line it
// names (0 when none) and the message without yaml's prefixes.
func Split(err error) (line int, msg string) {
	msg = strings.TrimPrefix(err.Error(), "yaml: ")
	msg = strings.TrimPrefix(msg, "unmarshal errors:\n  ")
	if m := lineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = lineRE.ReplaceAllString(msg, "")
	}
	return line, msg
}
