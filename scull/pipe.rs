// SPDX-License-Identifier: GPL-2.0

//! scullpipe (LDD3 chapter 6): a circular buffer with blocking read and write, poll and
//! `SIGIO`.
//!
//! Unlike the book, an open never throws away unread data, the buffer size can change only
//! while the buffer is empty (so the recorded size always matches the buffer), and a reader
//! sees end of file once the buffer is empty and every writer it has shared the pipe with has
//! gone (as with a FIFO; a reader that never had a writer blocks).

use super::common::{
    fops::{
        poll_flags,
        FasyncQueue,
        FileOperations, //
    },
    signal_pending,
    sync::lock_interruptible,
    usercopy::{
        partial,
        Faults,
        SharedBlock,
        UserCopy,
        UserReader,
        UserWriter, //
    }, //
};
use kernel::{
    fs::{
        file::{
            flags,
            Offset, //
        },
        File,
        LocalFile, //
    },
    new_mutex, new_poll_condvar,
    prelude::*,
    seq_file::{
        seq_print,
        SeqFile, //
    },
    sync::{
        poll::PollCondVar,
        poll::PollTable,
        Arc,
        Mutex, //
    },
};

/// The state of one pipe, under its mutex.
///
/// The bytes themselves are copied between the ring and user space with the mutex dropped
/// (a user buffer may take as long to fault in as its owner likes): a reader marks the unread
/// bytes it copies out as taken ([`Self::begin_read`]) and consumes them once they have reached
/// it ([`Self::end_read`]); a writer marks the free space it fills as taken
/// ([`Self::begin_write`]) and publishes the bytes once they are in ([`Self::end_write`]).
/// One reader and one writer copy at a time, each into its own part of the ring.
struct PipeState {
    /// `size` bytes once opened (it holds `size - 1` at most), none before the first open.
    ring: Option<Arc<SharedBlock>>,
    /// Read position.
    rp: usize,
    /// Write position; `rp == wp` means empty.
    wp: usize,
    /// A reader is copying the bytes at `rp` out.
    reading: bool,
    /// A writer is copying bytes in at `wp`.
    writing: bool,
    readers: u32,
    writers: u32,
    /// Writer opens so far: a reader hits end of file only once a writer that was open with it
    /// has gone, as with a FIFO.
    writer_opens: u64,
}

/// `len` bytes of the ring from offset `pos` on, wrapping around its end: what one read or
/// write copies, with the pipe's mutex dropped.
struct Span {
    ring: Arc<SharedBlock>,
    pos: usize,
    len: usize,
}

impl Span {
    /// The ring offsets and lengths of the span: up to the end of the ring, then from its
    /// start (the book's `scull_p_read` stopped at the end, so a message straddling it came
    /// out in two reads).
    fn runs(&self) -> [(usize, usize); 2] {
        let first = self.len.min(self.ring.size() - self.pos);
        [(self.pos, first), (0, self.len - first)]
    }

    /// Copies the span to `out`; returns how many bytes were copied before a fault in `out`,
    /// `EFAULT` if none.
    fn copy_to_user(&self, out: &mut UserWriter) -> Result<usize> {
        copy_runs(self.runs(), |pos, n| {
            self.ring.copy_to_user(pos, n, out, Faults::Wait)
        })
    }

    /// Fills the span from `input`; returns how many bytes were copied before a fault in
    /// `input`, `EFAULT` if none.
    fn copy_from_user(&self, input: &mut UserReader) -> Result<usize> {
        copy_runs(self.runs(), |pos, n| {
            self.ring.copy_from_user(pos, n, input, Faults::Wait)
        })
    }
}

/// Copies run after run with `copy(pos, len)`, until one stops short; returns the bytes
/// copied, the error if none.
fn copy_runs(
    runs: [(usize, usize); 2],
    mut copy: impl FnMut(usize, usize) -> Result<usize>,
) -> Result<usize> {
    let mut done = 0;
    for (pos, len) in runs {
        if len == 0 {
            break;
        }
        match copy(pos, len) {
            Ok(n) if n == len => done += n,
            Ok(n) => return Ok(done + n),
            Err(e) => return partial(done, e),
        }
    }
    Ok(done)
}

impl PipeState {
    fn size(&self) -> usize {
        self.ring.as_deref().map_or(0, SharedBlock::size)
    }

    fn available(&self) -> usize {
        if self.wp >= self.rp {
            self.wp - self.rp
        } else {
            self.size() - self.rp + self.wp
        }
    }

    /// `pos` (at most one ring length past the start) wrapped around the end.
    fn wrap(&self, pos: usize) -> usize {
        pos.checked_sub(self.size()).unwrap_or(pos)
    }

    fn space(&self) -> usize {
        self.size().saturating_sub(1) - self.available()
    }

    /// `len` bytes from `pos` on, unless that is none (or there is no ring yet).
    fn span(&self, pos: usize, len: usize) -> Option<Span> {
        match (&self.ring, len) {
            (Some(ring), 1..) => Some(Span {
                ring: ring.clone(),
                pos,
                len,
            }),
            _ => None,
        }
    }

    /// Whether a reader finds bytes to take: some are unread, and no other reader is copying
    /// them out ([`Self::begin_read`] and `poll` agree on it).
    fn readable(&self) -> bool {
        !self.reading && self.available() > 0
    }

    /// Whether a writer finds space to fill: some is free, and no other writer is filling it
    /// ([`Self::begin_write`] and `poll` agree on it).
    fn writable(&self) -> bool {
        !self.writing && self.space() > 0
    }

    /// Takes the first `max` unread bytes at most for a reader to copy out, unless the pipe is
    /// not [`Self::readable`]: no other reader may take them until [`Self::end_read`].
    fn begin_read(&mut self, max: usize) -> Option<Span> {
        if !self.readable() {
            return None;
        }
        let span = self.span(self.rp, max.min(self.available()))?;
        self.reading = true;
        Some(span)
    }

    /// Ends the copy that [`Self::begin_read`] began: the `copied` bytes are consumed.
    fn end_read(&mut self, copied: usize) {
        self.rp = self.wrap(self.rp + copied);
        self.reading = false;
    }

    /// Takes the free space, `max` bytes at most, for a writer to fill, unless the pipe is not
    /// [`Self::writable`]: no other writer may fill it, and the ring keeps its size, until
    /// [`Self::end_write`].
    fn begin_write(&mut self, max: usize) -> Option<Span> {
        if !self.writable() {
            return None;
        }
        let span = self.span(self.wp, max.min(self.space()))?;
        self.writing = true;
        Some(span)
    }

    /// Ends the copy that [`Self::begin_write`] began: the `copied` bytes are in the pipe.
    fn end_write(&mut self, copied: usize) {
        self.wp = self.wrap(self.wp + copied);
        self.writing = false;
    }

    /// Makes the ring `size` bytes if it is empty and no writer is filling it; a ring holding
    /// data keeps its size.
    fn resize_if_empty(&mut self, size: usize) -> Result {
        if self.size() != size && self.available() == 0 && !self.writing {
            self.ring = Some(Arc::new(SharedBlock::new(size)?, GFP_KERNEL)?);
            self.rp = 0;
            self.wp = 0;
        }
        Ok(())
    }
}

/// One scullpipe device.
#[pin_data]
pub(crate) struct ScullPipe {
    #[pin]
    state: Mutex<PipeState>,
    /// Readers wait here for data (or for the last writer to go, or for another reader's
    /// copy to end).
    #[pin]
    inq: PollCondVar,
    /// Writers wait here for space (or for another writer's copy to end).
    #[pin]
    outq: PollCondVar,
    async_queue: FasyncQueue,
}

impl ScullPipe {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                state <- new_mutex!(PipeState {
                    ring: None,
                    rp: 0,
                    wp: 0,
                    reading: false,
                    writing: false,
                    readers: 0,
                    writers: 0,
                    writer_opens: 0,
                }),
                inq <- new_poll_condvar!("scullpipe::inq"),
                outq <- new_poll_condvar!("scullpipe::outq"),
                async_queue: FasyncQueue::new(),
            }),
            GFP_KERNEL,
        )
    }

    /// Prints the state of the pipe (for /proc/scullpipe).
    pub(crate) fn show(&self, m: &SeqFile) {
        let st = self.state.lock();
        seq_print!(
            m,
            "   Buffer: size {}, rp {}, wp {}, available {}\n   Readers {}, writers {}\n",
            st.size(),
            st.rp,
            st.wp,
            st.available(),
            st.readers,
            st.writers
        );
    }
}

/// An open scullpipe: the pipe and what this file counts as.
pub(crate) struct PipeFile {
    pipe: Arc<ScullPipe>,
    reader: bool,
    writer: bool,
    /// Writer opens that had already closed when this file was opened: a larger
    /// `writer_opens` means a writer was open at some time during this file's life.
    writers_seen: u64,
}

fn nonblocking(file: &LocalFile) -> bool {
    file.flags() & flags::O_NONBLOCK != 0
}

impl PipeFile {
    /// Whether a reader of this file has seen all its writers go.
    fn hung_up(&self, st: &PipeState) -> bool {
        st.writers == 0 && st.writer_opens > self.writers_seen
    }
}

#[vtable]
impl FileOperations for PipeFile {
    type Data = Arc<ScullPipe>;
    type Ptr = KBox<PipeFile>;

    /// C: `scull_p_open`.
    fn open(pipe: &Arc<ScullPipe>, file: &File) -> Result<KBox<PipeFile>> {
        let mode = file.flags() & flags::O_ACCMODE;
        let reader = mode != flags::O_WRONLY;
        let writer = mode != flags::O_RDONLY;
        // Everything that can fail comes before the counts change: once they do, the file is
        // open and `release` will undo them.
        let mut this = KBox::new(
            PipeFile {
                pipe: pipe.clone(),
                reader,
                writer,
                writers_seen: 0,
            },
            GFP_KERNEL,
        )?;
        let mut st = lock_interruptible(&pipe.state)?;
        st.resize_if_empty(super::pipe_buffer_size())?;
        this.writers_seen = st.writer_opens - u64::from(st.writers);
        if reader {
            st.readers += 1;
        }
        if writer {
            st.writers += 1;
            st.writer_opens += 1;
        }
        Ok(this)
    }

    /// C: `scull_p_release`.
    fn release(this: KBox<PipeFile>, _file: &File) {
        let mut st = this.pipe.state.lock();
        st.readers -= u32::from(this.reader);
        st.writers -= u32::from(this.writer);
        let last_writer = this.writer && st.writers == 0;
        drop(st);
        if last_writer {
            // Readers blocked on an empty pipe now see end of file.
            this.pipe.inq.notify_all();
        }
    }

    /// C: `scull_p_read`. Waits for data, then copies what is there (up to the count)
    /// straight from the ring, with the mutex dropped: only other readers wait meanwhile.
    fn read(
        this: &PipeFile,
        file: &LocalFile,
        buf: &mut UserWriter,
        _pos: &mut Offset,
    ) -> Result<usize> {
        let pipe = &this.pipe;
        if buf.is_empty() {
            return Ok(0);
        }
        let mut st = lock_interruptible(&pipe.state)?;
        let span = loop {
            if let Some(span) = st.begin_read(buf.len()) {
                break span;
            }
            if st.available() == 0 && this.hung_up(&st) {
                return Ok(0);
            }
            if nonblocking(file) {
                return Err(EAGAIN);
            }
            if pipe.inq.wait_interruptible(&mut st) {
                return Err(ERESTARTSYS);
            }
        };
        drop(st);
        // A failed copy consumes nothing: the bytes stay for the next read.
        let copied = span.copy_to_user(buf);
        pipe.state.lock().end_read(copied.unwrap_or(0));
        // Writers wait for the space, other readers for the end of this copy.
        pipe.outq.notify_all();
        pipe.inq.notify_all();
        copied
    }

    /// C: `scull_p_write`. Waits for space, then fills what there is (up to the count)
    /// straight from user space, with the mutex dropped: only other writers wait meanwhile.
    /// Goes on until every byte is in, as the book does.
    fn write(
        this: &PipeFile,
        file: &LocalFile,
        buf: &mut UserReader,
        _pos: &mut Offset,
    ) -> Result<usize> {
        let pipe = &this.pipe;
        let mut done = 0;
        while !buf.is_empty() {
            if done > 0 && signal_pending() {
                break;
            }
            let mut st = match lock_interruptible(&pipe.state) {
                Ok(st) => st,
                Err(e) => return partial(done, e),
            };
            let span = loop {
                if let Some(span) = st.begin_write(buf.len()) {
                    break span;
                }
                if nonblocking(file) {
                    return partial(done, EAGAIN);
                }
                if pipe.outq.wait_interruptible(&mut st) {
                    return partial(done, ERESTARTSYS);
                }
            };
            drop(st);
            let copied = span.copy_from_user(buf);
            pipe.state.lock().end_write(copied.unwrap_or(0));
            // Other writers wait for the end of this copy, readers for the bytes.
            pipe.outq.notify_all();
            match copied {
                Ok(n) => {
                    pipe.inq.notify_all();
                    pipe.async_queue.notify_readable();
                    done += n;
                    if n < span.len {
                        break;
                    }
                }
                Err(e) => return partial(done, e),
            }
        }
        Ok(done)
    }

    /// C: `scull_p_poll`.
    fn poll(this: &PipeFile, file: &File, table: &PollTable<'_>) -> Result<u32> {
        let pipe = &this.pipe;
        table.register_wait(file, &pipe.inq);
        table.register_wait(file, &pipe.outq);
        let st = pipe.state.lock();
        let mut mask = 0;
        // As `read` and `write` see it: bytes (space) that another reader (writer) is copying
        // are not there for this one.
        if st.readable() {
            mask |= poll_flags::READABLE;
        }
        if st.writable() {
            mask |= poll_flags::WRITABLE;
        }
        if this.reader && this.hung_up(&st) {
            mask |= poll_flags::HANGUP;
        }
        Ok(mask)
    }

    /// C: `scull_ioctl` (the book shares it too).
    fn ioctl(_this: &PipeFile, _file: &File, cmd: u32, arg: usize) -> Result<isize> {
        super::scull_ioctl(cmd, arg)
    }

    /// C: `scull_p_fasync` (the wrapper calls `fasync_helper` with this queue).
    fn fasync_queue(pipe: &Arc<ScullPipe>) -> &FasyncQueue {
        &pipe.async_queue
    }
}
