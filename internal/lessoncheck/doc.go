// Package lessoncheck runs the commands of a socklab lesson and checks that
// they print what the lesson says they print. A lesson that drifts from the
// code then fails the build, instead of quietly misleading a learner.
//
// # What a lesson looks like to the checker
//
// A lesson is a Markdown file. The checker only looks at fenced code blocks
// whose info string starts with the word "console":
//
//	**Terminal B**
//
//	```console B
//	$ bin/tcpclient -addr 127.0.0.1:7000 hello
//	connect(3, {sa_family=AF_INET, sin_port=htons(7000), ...}, 16) = 0
//	...
//	```
//
// The second word names the terminal the block is typed into (A, B, C, ...).
// Without a second word the terminal is A. Every other block (mermaid, go,
// sh, text, ...) is prose to the checker and never runs.
//
// A Markdown renderer hides the info string, so a reader sees which
// terminal a block belongs to only from the prose. A line starting with
// "**Terminal B**" just above the block (blank lines and checker comments
// may sit between) says it visibly, and the checker holds it to the info
// string: every console block must have one, and a label naming another
// terminal is an error.
//
// Inside a console block:
//
//   - A line starting with "$ " is a command typed into that terminal.
//     The lines after it, up to the next "$ " line or the end of the block,
//     are what the learner should see: stdout and stderr mixed in the order
//     they were written, as a terminal shows them. Blank lines at the end
//     of a command's output are ignored; blank lines in the middle match
//     empty output lines.
//   - A block that does not start with "$ " continues the command still
//     running in that terminal: its lines are more output from it, for
//     example a server's trace after a client connected from terminal B.
//     Such a block in a terminal that never ran a command is an error
//     ("output with no command").
//   - "^C" alone on a line presses Ctrl-C: SIGINT goes to the command's
//     process group once the lines above it have appeared. "^D" alone on a
//     line closes the command's standard input. Lines after them are output
//     expected after the key press.
//   - "[exit N]" as the last line of a command's output says the command
//     must exit, with status N. Without it a command that exits must exit
//     with status 0. A command killed by Ctrl-C is fine either way; a death
//     by signal counts as status 128+signal, as in a shell (^C gives 130).
//
// Each expected line is compared with the next line of output not yet
// matched, ignoring trailing spaces and tabs, with three exceptions:
//
//   - A line that is exactly "..." stands for zero or more output lines, as
//     few as possible for the lines after it to match.
//   - <name>, lowercase letters, digits and underscores in angle brackets
//     (<port>, <pid>, <fd>, <n>, <time>), stands for one or more characters
//     that are not spaces.
//   - <any> stands for any text, spaces included, possibly none.
//
// Carriage returns and ANSI colour sequences are removed from the output
// before comparing; expected lines must not contain escape sequences.
//
// # How a lesson runs
//
// Blocks run in document order. Each command runs as `bash -c COMMAND` in
// the repository root, in a fresh shell (cd and export do not carry over to
// the next "$ " line), in its own process group, with stdin an open pipe
// nobody writes to (like a terminal nobody types in), one pipe as both
// stdout and stderr, the environment of the checker plus NO_COLOR=1, and no
// terminal (so programs print no colour).
//
// The checker waits until all expected lines of a block have appeared, in
// order. Then it moves on to the next block, leaving the command running if
// it has not exited yet (a server keeps serving). If it has exited, its exit
// status is checked right away.
//
// A new "$ " line in a terminal whose last command is still running first
// waits for that command to exit; if it does not, the lesson fails
// ("terminal A is still running ..."). When a command is done - a new
// command replaced it, its "[exit N]" line was reached, or the lesson ended
// after it exited by itself - its exit status is checked, and any output
// the lesson did not show is an error, unless the lesson's last expected
// line for it was "...". Output of a command still running when the lesson
// ends is not checked further.
//
// Every wait is bounded: 10 seconds unless Options.Timeout says otherwise,
// or the HTML comment <!-- timeout 30s --> on the line before a block (blank
// lines between them are allowed).
//
// A reader pauses between commands; the test does not. Where a lesson
// gives the reader time (a client that holds its connections for two
// minutes while the reader looks at them from another terminal), the
// comment <!-- test runs "-hold 2m" as "-hold 3s" --> above the block
// makes the test type the shorter version. It is invisible in the rendered
// lesson, applies to the one block below it, and must change at least one
// of its commands. The launcher (scripts/lesson) types the reader's
// version.
//
// A mismatch or a timeout fails the lesson
// with the file, the line of the expected line, that line, and the last 40
// lines of the terminal's output.
//
// At the end of a lesson, passed or failed, every process group it started
// gets SIGINT, and SIGKILL 3 seconds later if anything is still alive.
package lessoncheck
