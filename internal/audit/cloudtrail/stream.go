package cloudtrail

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// Stream reads CloudTrail records from r and calls each for every well-formed one, in order.
// r may be gzip (detected by its magic bytes) and hold a trail log file ({"Records":[...]}),
// a JSON array of records, or a sequence of records or EventBridge events (JSON lines).
//
// Memory stays flat whatever the size of r: records are decoded one at a time and the
// *Record passed to each is reused for the next record, so each must not keep it.
// A record that cannot be decoded or lacks required fields goes to bad, with its offset
// and event id, and the stream goes on; input that is not JSON at all ends the stream with
// an error wrapping ErrMalformed. An error from each stops the stream and is returned.
func Stream(r io.Reader, each func(*Record) error, bad func(error)) (records int, err error) {
	br := bufio.NewReaderSize(r, 256<<10)
	if magic, _ := br.Peek(2); len(magic) == 2 && magic[0] == 0x1f && magic[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			return 0, fmt.Errorf("%w: gzip header: %v", ErrMalformed, err)
		}
		defer zr.Close()
		br = bufio.NewReaderSize(zr, 256<<10)
	}
	if bad == nil {
		bad = func(error) {}
	}
	s := streamer{dec: json.NewDecoder(br), each: each, bad: bad}
	first, err := firstByte(br)
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	switch {
	case first == '[':
		err = s.array()
	case first == '{' && recordsFirst(br):
		err = s.envelope()
	case first == '{':
		err = s.values()
	default:
		err = fmt.Errorf("%w: offset 0: expected a JSON object or array, found %q", ErrMalformed, first)
	}
	return s.n, err
}

type streamer struct {
	dec  *json.Decoder
	each func(*Record) error
	bad  func(error)
	rec  Record
	n    int
}

// envelope walks {"Records":[...], ...} token by token.
func (s *streamer) envelope() error {
	if _, err := s.dec.Token(); err != nil { // {
		return s.syntax(err)
	}
	for s.dec.More() {
		tok, err := s.dec.Token()
		if err != nil {
			return s.syntax(err)
		}
		if key, _ := tok.(string); key == "Records" {
			if err := s.array(); err != nil {
				return err
			}
			continue
		}
		var skip json.RawMessage
		if err := s.dec.Decode(&skip); err != nil {
			return s.syntax(err)
		}
	}
	if _, err := s.dec.Token(); err != nil { // }
		return s.syntax(err)
	}
	return nil
}

// array walks [record, record, ...].
func (s *streamer) array() error {
	tok, err := s.dec.Token()
	if err != nil {
		return s.syntax(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '[' {
		if tok == nil { // "Records": null
			return nil
		}
		return fmt.Errorf("%w: offset %d: Records is not an array", ErrMalformed, s.dec.InputOffset())
	}
	for s.dec.More() {
		if err := s.one(&s.rec); err != nil {
			return err
		}
	}
	if _, err := s.dec.Token(); err != nil { // ]
		return s.syntax(err)
	}
	return nil
}

// values reads a sequence of top-level records or EventBridge events (JSON lines).
func (s *streamer) values() error {
	for {
		var raw json.RawMessage
		off := s.dec.InputOffset()
		err := s.dec.Decode(&raw)
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return s.syntax(err)
		}
		rec, err := ParseRecordOrEvent(raw)
		if err != nil {
			s.bad(fmt.Errorf("offset %d: %w", off, err))
			continue
		}
		if err := s.deliver(rec, off); err != nil {
			return err
		}
	}
}

// one decodes the next array element into rec, reusing its buffers.
func (s *streamer) one(rec *Record) error {
	rp, re, ad, res := rec.RequestParameters[:0], rec.ResponseElements[:0], rec.AdditionalEventData[:0], rec.Resources[:0]
	*rec = Record{RequestParameters: rp, ResponseElements: re, AdditionalEventData: ad, Resources: res}
	off := s.dec.InputOffset()
	if err := s.dec.Decode(rec); err != nil {
		if isSyntax(err) {
			return s.syntax(err)
		}
		s.bad(fmt.Errorf("%w: offset %d: record %q: %v", ErrMalformed, off, rec.EventID, err))
		return nil
	}
	return s.deliver(rec, off)
}

func (s *streamer) deliver(rec *Record, off int64) error {
	if err := rec.Validate(); err != nil {
		s.bad(fmt.Errorf("offset %d: %w", off, err))
		return nil
	}
	s.n++
	return s.each(rec)
}

func (s *streamer) syntax(err error) error {
	if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("%w: offset %d: input ends early (truncated file?)", ErrMalformed, s.dec.InputOffset())
	}
	return fmt.Errorf("%w: offset %d: %v", ErrMalformed, s.dec.InputOffset(), err)
}

// isSyntax tells errors that leave the decoder lost from ones that only skip a value.
func isSyntax(err error) bool {
	var se *json.SyntaxError
	return errors.As(err, &se) || err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF)
}

// firstByte returns the first non-space byte without consuming it.
func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.ReadByte()
		if err != nil {
			return 0, err
		}
		if b != ' ' && b != '\n' && b != '\r' && b != '\t' {
			return b, br.UnreadByte()
		}
	}
}

// recordsFirst reports whether the object at the head of br starts with the key "Records",
// as every trail log file does, so it can be streamed rather than decoded whole.
func recordsFirst(br *bufio.Reader) bool {
	head, _ := br.Peek(64)
	head = bytes.TrimLeft(head[min(1, len(head)):], " \t\r\n")
	return bytes.HasPrefix(head, []byte(`"Records"`))
}

// ParseRecord decodes one CloudTrail record (an EventBridge event's detail) and validates it.
func ParseRecord(raw []byte) (*Record, error) {
	var r Record
	if err := json.Unmarshal(raw, &r); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}
