package cloudtrail

import (
	"bufio"
	"compress/flate"
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
// Memory stays flat whatever the size of r: records are read one at a time and the *Record
// passed to each is reused for the next record, so each must not keep it. A record that
// cannot be decoded or lacks required fields goes to bad, with its offset and event id, and
// the stream goes on; input that is not JSON at all ends the stream with an error wrapping
// ErrMalformed. An error from each stops the stream and is returned.
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
	s := streamer{f: framer{br: br}, each: each, bad: bad, intern: newInterner()}
	first, err := s.f.next()
	if err == io.EOF {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read: %w", err)
	}
	switch first {
	case '[':
		err = s.array()
	case '{':
		if recordsFirst(br) {
			err = s.envelope()
		} else {
			err = s.values()
		}
	default:
		err = fmt.Errorf("%w: offset 0: expected a JSON object or array, found %q", ErrMalformed, first)
	}
	if err == nil {
		// Read to the end: only whitespace may follow, and gzip checks its CRC there.
		if c, werr := s.f.ws(); werr == nil {
			err = fmt.Errorf("%w: offset %d: %q after the end of the document", ErrMalformed, s.f.off, c)
		} else if werr != io.EOF {
			err = werr
		}
	}
	if err != nil && !errors.Is(err, ErrMalformed) && !errors.Is(err, errStop) {
		if errors.Is(err, errSyntax) || errors.Is(err, io.ErrUnexpectedEOF) {
			err = s.syntax(err)
		}
	}
	if e, ok := err.(stopErr); ok {
		err = e.err
	} else if corruptGzip(err) {
		err = fmt.Errorf("%w: offset %d: gzip: %v", ErrMalformed, s.f.off, err)
	}
	return s.n, err
}

func corruptGzip(err error) bool {
	var ce flate.CorruptInputError
	return errors.Is(err, gzip.ErrChecksum) || errors.Is(err, gzip.ErrHeader) || errors.As(err, &ce)
}

// errStop wraps an error returned by each, so it is passed through untouched.
var errStop = errors.New("stopped by caller")

type stopErr struct{ err error }

// Error returns the caller's error message.
func (e stopErr) Error() string { return e.err.Error() }

// Is makes errors.Is(err, errStop) true.
func (e stopErr) Is(t error) bool {
	return t == errStop
}

type streamer struct {
	f      framer
	each   func(*Record) error
	bad    func(error)
	intern *interner
	rec    Record
	n      int
}

func (s *streamer) syntax(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return fmt.Errorf("%w: offset %d: input ends early (truncated file?)", ErrMalformed, s.f.off)
	}
	return fmt.Errorf("%w: offset %d: %v", ErrMalformed, s.f.off, err)
}

// key reads an object key and the colon after it.
func (s *streamer) key() (string, error) {
	v, err := s.f.scalar()
	if err != nil {
		return "", err
	}
	var k string
	if err := json.Unmarshal(v, &k); err != nil {
		return "", fmt.Errorf("%w: object key", errSyntax)
	}
	if c, err := s.f.ws(); err != nil || c != ':' {
		return "", fmt.Errorf("%w: want : after key %q", errSyntax, k)
	}
	return k, nil
}

// envelope walks {"Records":[...], ...}.
func (s *streamer) envelope() error {
	s.f.ws() // {
	for {
		c, err := s.f.next()
		if err != nil {
			return err
		}
		if c == '}' {
			s.f.ws()
			return nil
		}
		k, err := s.key()
		if err != nil {
			return err
		}
		if k == "Records" {
			c, err := s.f.next()
			if err != nil {
				return err
			}
			switch c {
			case '[':
				if err := s.array(); err != nil {
					return err
				}
			case 'n':
				if _, err := s.f.value(); err != nil {
					return err
				}
			default:
				return fmt.Errorf("%w: offset %d: Records is not an array", ErrMalformed, s.f.off)
			}
		} else if _, err := s.f.value(); err != nil {
			return err
		}
		switch c, err := s.f.ws(); {
		case err != nil:
			return err
		case c == '}':
			return nil
		case c != ',':
			return fmt.Errorf("%w: want , or } after %q", errSyntax, k)
		}
	}
}

// array walks [record, record, ...].
func (s *streamer) array() error {
	s.f.ws() // [
	if c, err := s.f.next(); err != nil {
		return err
	} else if c == ']' {
		s.f.ws()
		return nil
	}
	for {
		off := s.f.off
		raw, err := s.f.value()
		if err != nil {
			return err
		}
		if err := s.one(raw, off); err != nil {
			return err
		}
		switch c, err := s.f.ws(); {
		case err != nil:
			return err
		case c == ']':
			return nil
		case c != ',':
			return fmt.Errorf("%w: want , or ] between records", errSyntax)
		}
	}
}

// one decodes raw into the reused record (keeping its buffers) and delivers it.
func (s *streamer) one(raw []byte, off int64) error {
	rec := &s.rec
	rp, re, ad, res := rec.RequestParameters[:0], rec.ResponseElements[:0], rec.AdditionalEventData[:0], rec.Resources[:0]
	*rec = Record{RequestParameters: rp, ResponseElements: re, AdditionalEventData: ad, Resources: res}
	if err := decodeRecord(raw, rec, s.intern); err != nil {
		s.bad(fmt.Errorf("offset %d: record %q: %w", off, rec.EventID, err))
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
	if err := s.each(rec); err != nil {
		return stopErr{err}
	}
	return nil
}

// values reads a sequence of top-level records or EventBridge events (JSON lines).
func (s *streamer) values() error {
	for {
		if _, err := s.f.next(); err == io.EOF {
			return nil
		}
		off := s.f.off
		raw, err := s.f.value()
		if err != nil {
			return err
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

// recordsFirst reports whether the object at the head of br starts with the key "Records",
// as every trail log file does, so it can be streamed rather than read whole.
func recordsFirst(br *bufio.Reader) bool {
	head, _ := br.Peek(64)
	i := 0
	for i < len(head) && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t') {
		i++
	}
	if i >= len(head) || head[i] != '{' {
		return false
	}
	i++
	for i < len(head) && (head[i] == ' ' || head[i] == '\n' || head[i] == '\r' || head[i] == '\t') {
		i++
	}
	return len(head)-i >= 9 && string(head[i:i+9]) == `"Records"`
}

// ParseRecord decodes one CloudTrail record (an EventBridge event's detail) and validates it.
func ParseRecord(raw []byte) (*Record, error) {
	var r Record
	if err := decodeRecord(raw, &r, nil); err != nil {
		return nil, fmt.Errorf("record %q: %w", r.EventID, err)
	}
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return &r, nil
}
