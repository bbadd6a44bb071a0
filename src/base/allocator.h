// SPDX-License-Identifier: Apache-2.0
#pragma once

namespace dittofs {

// Makes glibc's allocator keep memory it has freed, up to a bound, instead of handing it back
// to the kernel at once. Call once, at the start of a process that moves bulk data (the server,
// a benchmark client), before it starts threads.
//
// Why: such a process has buffers of up to a few MiB in flight (RPC records, write payloads,
// reply chunks, memory-share blocks), more of them the more calls are outstanding. By default
// glibc maps each allocation of 128 KiB or more separately and unmaps it on free (the
// threshold rises to the largest size freed), and trims a heap whose free top exceeds twice
// that threshold. Every new buffer then touches fresh pages: a page fault per 4 KiB, which in
// a virtual machine is a costly exit. The deeper the queue, the more of the working set lies
// past those thresholds. Measured on nfs_bench (libnfs allocates every 1 MiB request): with 16
// or more WRITEs in flight it spent its time faulting its own buffers in, and sequential
// writes fell from ~2,300 MB/s at one in flight to ~240 MB/s at 32.
//
// After this, allocations up to 32 MiB come from the heaps, and a heap gives memory back only
// when more than 512 MiB at its top is free; memory a burst used stays mapped, up to that bound
// per heap, for the next burst.
void KeepFreedMemoryForReuse();

}  // namespace dittofs
