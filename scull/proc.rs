// SPDX-License-Identifier: GPL-2.0

//! The /proc files of scull: `scullmem` (every device in one go, as the book's read_proc),
//! `scullseq` (the same, one device per seq_file record) and `scullpipe`.

use super::{
    common::procfs::SeqShow,
    pipe::ScullPipe,
    pipe_buffer_size,
    ScullDev, //
};
use kernel::{
    prelude::*,
    seq_file::{
        seq_print,
        SeqFile, //
    },
    sync::Arc, //
};

/// The scull0..N devices, for /proc/scullmem and /proc/scullseq.
pub(crate) struct DeviceList {
    devices: KVec<Arc<ScullDev>>,
    /// Whether all devices form one record (scullmem) or one record each (scullseq).
    one_record: bool,
}

impl DeviceList {
    /// All devices in one record, as the book's `scull_read_procmem` (/proc/scullmem).
    pub(crate) fn single_record(devices: KVec<Arc<ScullDev>>) -> Self {
        Self {
            devices,
            one_record: true,
        }
    }

    /// One record per device, as the book's seq_file version (/proc/scullseq).
    pub(crate) fn record_per_device(devices: KVec<Arc<ScullDev>>) -> Self {
        Self {
            devices,
            one_record: false,
        }
    }
}

/// List items /proc/scullmem and /proc/scullseq print per device at most: the output of a
/// device with a tiny geometry stays bounded (the book stopped at a page).
const MAX_ITEM_LINES: usize = 1000;

/// Prints device `index`: its geometry and size, then its first list items.
fn show_device(m: &SeqFile, index: usize, dev: &ScullDev) {
    let storage = dev.storage.lock();
    seq_print!(
        m,
        "\nDevice {}: qset {}, q {}, sz {}\n",
        index,
        storage.geometry().qset(),
        storage.geometry().block(),
        storage.size()
    );
    for (item, quanta) in storage.items().enumerate().take(MAX_ITEM_LINES) {
        seq_print!(m, "  item {}: {} quanta\n", item, quanta);
    }
    let more = storage.items().len().saturating_sub(MAX_ITEM_LINES);
    if more > 0 {
        seq_print!(m, "  ... {} more items\n", more);
    }
}

impl SeqShow for DeviceList {
    fn has(&self, pos: usize) -> bool {
        if self.one_record {
            pos == 0
        } else {
            pos < self.devices.len()
        }
    }

    fn show(&self, m: &SeqFile, pos: usize) -> Result {
        if self.one_record {
            for (i, dev) in self.devices.iter().enumerate() {
                show_device(m, i, dev);
            }
        } else {
            show_device(m, pos, &self.devices[pos]);
        }
        Ok(())
    }
}

/// The scullpipe devices, for /proc/scullpipe: a header, then one record per pipe.
pub(crate) struct PipeList {
    pipes: KVec<Arc<ScullPipe>>,
}

impl PipeList {
    pub(crate) fn new(pipes: KVec<Arc<ScullPipe>>) -> Self {
        Self { pipes }
    }
}

impl SeqShow for PipeList {
    fn has(&self, pos: usize) -> bool {
        pos <= self.pipes.len()
    }

    fn show(&self, m: &SeqFile, pos: usize) -> Result {
        if pos == 0 {
            seq_print!(m, "Default buffersize is {}\n", pipe_buffer_size());
        } else {
            seq_print!(m, "\nDevice {}:\n", pos - 1);
            self.pipes[pos - 1].show(m);
        }
        Ok(())
    }
}
