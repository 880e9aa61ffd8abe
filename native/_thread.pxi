# A second thread for batch_match: included by _batch.pxi. The jobs touch no Python object and
# never take the GIL; the calling thread keeps it, so no Python code runs while they do.

from cpython.pythread cimport (
    WAIT_LOCK,
    PyThread_acquire_lock,
    PyThread_allocate_lock,
    PyThread_free_lock,
    PyThread_release_lock,
    PyThread_start_new_thread,
    PyThread_type_lock,
)


cdef struct Job:
    void (*run)(void*) noexcept nogil
    void* arg
    PyThread_type_lock done  # held while the job runs; released by its thread as it ends
    bint running


cdef void job_main(void* p) noexcept nogil:
    cdef Job* job = <Job*>p
    job.run(job.arg)
    PyThread_release_lock(job.done)  # the last thing this thread reads of the job


cdef bint job_start(Job* job, void (*run)(void*) noexcept nogil, void* arg) noexcept:
    # Runs run(arg) on a thread of its own; False if none could start, and nothing ran.
    job.run, job.arg, job.running = run, arg, False
    job.done = PyThread_allocate_lock()
    if job.done == NULL:
        return False
    PyThread_acquire_lock(job.done, WAIT_LOCK)
    if <unsigned long>PyThread_start_new_thread(job_main, job) == <unsigned long>-1:
        PyThread_release_lock(job.done)
        PyThread_free_lock(job.done)
        job.done = NULL
        return False
    job.running = True
    return True


cdef void job_wait(Job* job) noexcept nogil:
    # Returns once the job's thread is done with it.
    if job.running:
        PyThread_acquire_lock(job.done, WAIT_LOCK)
        PyThread_release_lock(job.done)
        job.running = False


cdef void job_end(Job* job) noexcept:
    # Waits for the job, if it runs, and frees its lock. Safe on a job that never started.
    job_wait(job)
    if job.done != NULL:
        PyThread_free_lock(job.done)
        job.done = NULL
