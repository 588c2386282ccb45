// Package docs holds the tests that keep the project's documentation true: the generated
// parts of README.md equal to what they are generated from (the `make help` block from
// the Makefile), and every relative link in the Markdown files pointing at a file that
// exists. It has no code of its own.
package docs
