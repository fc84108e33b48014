// SPDX-License-Identifier: GPL-2.0

//! scullpipe (LDD3 chapter 6): a circular buffer with blocking read and write, poll and
//! `SIGIO`.
//!
//! Unlike the book, an open never throws away unread data, the buffer size can change only
//! while the buffer is empty (so the recorded size always matches the buffer), and a reader
//! sees end of file once the buffer is empty and every writer it has shared the pipe with has
//! gone (as with a FIFO; a reader that never had a writer blocks).

use super::common::{
    bounce,
    fops::{
        poll_flags,
        FasyncQueue,
        FileOperations, //
    },
    sync::lock_interruptible,
    usercopy::{
        self,
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
struct PipeState {
    /// `size` bytes once opened (capacity `size - 1`), empty before the first open.
    buffer: KVVec<u8>,
    /// Read position.
    rp: usize,
    /// Write position; `rp == wp` means empty.
    wp: usize,
    readers: u32,
    writers: u32,
    /// Writer opens so far: a reader hits end of file only once a writer that was open with it
    /// has gone, as with a FIFO.
    writer_opens: u64,
}

impl PipeState {
    fn size(&self) -> usize {
        self.buffer.len()
    }

    fn available(&self) -> usize {
        if self.wp >= self.rp {
            self.wp - self.rp
        } else {
            self.size() - self.rp + self.wp
        }
    }

    /// `pos` (at most one buffer length past the start) wrapped around the end.
    fn wrap(&self, pos: usize) -> usize {
        pos.checked_sub(self.size()).unwrap_or(pos)
    }

    fn space(&self) -> usize {
        self.size().saturating_sub(1) - self.available()
    }

    /// Copies the unread bytes into `out`, as many as fit, without consuming them: the run at
    /// `rp`, then the one at the start of the buffer when the data wraps around (the book's
    /// scull_p_read stopped at the end of the buffer, so a message straddling it came out in
    /// two reads). Returns how many.
    fn peek(&self, out: &mut [u8]) -> usize {
        let n = out.len().min(self.available());
        let first = n.min(self.size() - self.rp);
        out[..first].copy_from_slice(&self.buffer[self.rp..self.rp + first]);
        out[first..n].copy_from_slice(&self.buffer[..n - first]);
        n
    }

    /// Stores as much of `input` as there is space for, after the unread bytes, and returns
    /// how many (the slot before `rp` always stays free: `rp == wp` means empty).
    fn put(&mut self, input: &[u8]) -> usize {
        let n = input.len().min(self.space());
        let first = n.min(self.size() - self.wp);
        let wp = self.wp;
        self.buffer[wp..wp + first].copy_from_slice(&input[..first]);
        self.buffer[..n - first].copy_from_slice(&input[first..n]);
        self.wp = self.wrap(wp + n);
        n
    }

    /// Makes the buffer `size` bytes if it is empty; a buffer holding data keeps its size.
    fn resize_if_empty(&mut self, size: usize) -> Result {
        if self.size() != size && self.available() == 0 {
            self.buffer = KVVec::from_elem(0u8, size, GFP_KERNEL)?;
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
    /// Held by the reader that is copying bytes out to user space, with `state` dropped: the
    /// bytes it copies are consumed only once they have reached user space, so no other reader
    /// may take them meanwhile, and a fault in its buffer holds up only the other readers.
    #[pin]
    copying_out: Mutex<()>,
    /// Readers wait here for data (or for the last writer to go).
    #[pin]
    inq: PollCondVar,
    /// Writers wait here for space.
    #[pin]
    outq: PollCondVar,
    async_queue: FasyncQueue,
}

impl ScullPipe {
    pub(crate) fn new() -> Result<Arc<Self>> {
        Arc::pin_init(
            pin_init!(Self {
                state <- new_mutex!(PipeState {
                    buffer: KVVec::new(),
                    rp: 0,
                    wp: 0,
                    readers: 0,
                    writers: 0,
                    writer_opens: 0,
                }),
                copying_out <- new_mutex!(()),
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

    /// C: `scull_p_read`. Waits for data, then copies what is there (up to the count) out
    /// through a bounce buffer, with no lock but `copying_out` held during the user copy.
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
        let mut bounce = KVVec::from_elem(0u8, buf.len().min(bounce::CHUNK), GFP_KERNEL)?;
        loop {
            let mut st = lock_interruptible(&pipe.state)?;
            while st.available() == 0 {
                if this.hung_up(&st) {
                    return Ok(0);
                }
                if nonblocking(file) {
                    return Err(EAGAIN);
                }
                if pipe.inq.wait_interruptible(&mut st) {
                    return Err(ERESTARTSYS);
                }
            }
            drop(st);
            let _copying = if nonblocking(file) {
                pipe.copying_out.try_lock().ok_or(EAGAIN)?
            } else {
                lock_interruptible(&pipe.copying_out)?
            };
            // Another reader may have taken everything while this one waited.
            let n = lock_interruptible(&pipe.state)?.peek(&mut bounce);
            if n == 0 {
                continue;
            }
            // A failed copy consumes nothing: the bytes stay for the next read.
            buf.write_slice(&bounce[..n])?;
            let mut st = pipe.state.lock();
            st.rp = st.wrap(st.rp + n);
            drop(st);
            pipe.outq.notify_all();
            return Ok(n);
        }
    }

    /// C: `scull_p_write`. Copies in through a bounce buffer with no lock held, then stores
    /// it as space allows, waiting for readers to make room.
    fn write(
        this: &PipeFile,
        file: &LocalFile,
        buf: &mut UserReader,
        _pos: &mut Offset,
    ) -> Result<usize> {
        let pipe = &this.pipe;
        bounce::copy_from_user(buf, |_, chunk| {
            let mut stored = 0;
            while stored < chunk.len() {
                let mut st = match lock_interruptible(&pipe.state) {
                    Ok(st) => st,
                    Err(e) => return usercopy::partial(stored, e),
                };
                while st.space() == 0 {
                    if nonblocking(file) {
                        return usercopy::partial(stored, EAGAIN);
                    }
                    if pipe.outq.wait_interruptible(&mut st) {
                        return usercopy::partial(stored, ERESTARTSYS);
                    }
                }
                stored += st.put(&chunk[stored..]);
                drop(st);
                pipe.inq.notify_all();
                pipe.async_queue.notify_readable();
            }
            Ok(stored)
        })
    }

    /// C: `scull_p_poll`.
    fn poll(this: &PipeFile, file: &File, table: &PollTable<'_>) -> Result<u32> {
        let pipe = &this.pipe;
        table.register_wait(file, &pipe.inq);
        table.register_wait(file, &pipe.outq);
        let st = pipe.state.lock();
        let mut mask = 0;
        if st.available() > 0 {
            mask |= poll_flags::READABLE;
        }
        if st.space() > 0 {
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
