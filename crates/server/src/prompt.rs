//! Secrets typed at a terminal: a prompt on stderr, and the terminal's echo off while the
//! line is read, so that a password or PIN never shows on screen or in a scrollback.

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use rustix::termios::{LocalModes, OptionalActions, Termios, tcgetattr, tcsetattr};

/// Whether stdin is a terminal (a person typing), rather than a pipe or a file (a script).
pub fn stdin_is_terminal() -> bool {
    std::io::stdin().is_terminal()
}

/// Prints `prompt` on stderr and reads one line from the terminal on stdin without echoing
/// it; the line's end is echoed, so that what follows starts on a line of its own. The echo
/// goes off before the prompt shows, so that nothing typed after the prompt is echoed.
pub fn read_hidden(prompt: &str) -> std::io::Result<String> {
    let stdin = std::io::stdin();
    let hidden = Hidden::new(&stdin)?;
    let mut stderr = std::io::stderr();
    write!(stderr, "{prompt}")?;
    stderr.flush()?;
    let mut line = String::new();
    let read = stdin.lock().read_line(&mut line);
    drop(hidden);
    if read? == 0 {
        return Err(std::io::Error::new(
            std::io::ErrorKind::UnexpectedEof,
            "the terminal closed",
        ));
    }
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

/// The terminal with its echo off, until dropped: then as it was.
struct Hidden<'a> {
    stdin: &'a std::io::Stdin,
    before: Termios,
}

impl<'a> Hidden<'a> {
    fn new(stdin: &'a std::io::Stdin) -> std::io::Result<Self> {
        let before = tcgetattr(stdin)?;
        let mut quiet = before.clone();
        quiet.local_modes.remove(LocalModes::ECHO);
        // The newline the person types still shows (ICANON line editing is kept).
        quiet.local_modes.insert(LocalModes::ECHONL);
        tcsetattr(stdin, OptionalActions::Now, &quiet)?;
        Ok(Self { stdin, before })
    }
}

impl Drop for Hidden<'_> {
    fn drop(&mut self) {
        let _ = tcsetattr(self.stdin, OptionalActions::Now, &self.before);
    }
}
