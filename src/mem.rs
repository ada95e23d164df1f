//! Giving freed heap back to the system after a large piece of work.
//!
//! A planning run over the whole network allocates about half a gigabyte in many small pieces
//! (per part, per location) and frees it all at the end. glibc's allocator keeps what was freed
//! for reuse, so a server that ran one plan went on holding most of that peak for the rest of
//! its life. `give_back` asks it to return the free pages (`malloc_trim`): it only releases
//! memory nothing uses, so it is safe at any time, and costs milliseconds.

/// Returns the heap's free pages to the operating system (glibc on Linux; elsewhere a no-op).
pub fn give_back() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim takes a size and touches only the allocator's free lists.
    unsafe {
        libc::malloc_trim(0);
    }
}
