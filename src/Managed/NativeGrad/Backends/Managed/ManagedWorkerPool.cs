using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;

namespace NativeGrad.Backends;

/// <summary>
/// The persistent worker threads behind <see cref="ManagedParallel.For{TBody}(long, int, ref TBody)"/>: the managed
/// counterpart of the native pool (native/src/ng_threadpool.c). Parallel.For allocated on every kernel call (the
/// closure, its tasks and their replicas) and took microseconds to dispatch; this pool allocates nothing once its
/// threads exist, and a job reaches spinning workers through one store.
/// </summary>
/// <remarks>
/// <para>
/// Threads. Background threads named "NativeGrad managed worker", started the first time a call asks for them
/// (threads - 1 of them; more when a later call asks for more; at most 255) and never stopped. The caller always
/// takes part in its own job. One job runs at a time: a <c>busy</c> flag taken by compare-exchange makes a call
/// that finds the pool in use (a concurrent call from another thread, or a nested call from inside a body) run its
/// loop inline on its own thread instead, as the native pool does.
/// </para>
/// <para>
/// Dispatch. The body struct stays on the caller's stack (pinned for the call); the job is a pointer to it, a
/// function pointer to <see cref="Invoke{TBody}"/> (which calls the body's Invoke with the right type) and the item
/// count. Items are claimed from a shared next-item counter by compare-exchange, so every item runs exactly once, on
/// whichever thread claims it; a claim takes a run of consecutive items, a share of what is left (guided
/// scheduling: (count - next) / (2 * threads in the job), at least one). Claiming one item at a time interleaved
/// the two threads' items, and made memory-bound loops slower than Parallel.For, which hands out ranges: a 16M-float
/// sum took ~1.05-1.15 ms instead of ~0.9 ms, a 4096 x 1024 softmax ~5% longer; with runs both match it. Which
/// thread runs an item never changes its result.
/// </para>
/// <para>
/// Joining. One 64-bit state word holds the job's generation (bits 32-63), a closed bit (24), the team size
/// (threads - 1 of the call; bits 16-23), the join limit (min(team, count - 1); bits 8-15) and the number of
/// workers inside the job (bits 0-7). A worker enters a job only by a compare-exchange of that word that raises the
/// active count, and only while the job is open and the count is below the limit; it lowers the count when it finds
/// no item left. The caller, once it finds no item left, sets the closed bit and waits for the active count to reach
/// 0 (spinning, then yielding): every claimed item is then finished, and no worker can still be inside. A worker that
/// wakes late finds the job closed (or a newer generation, which fails its compare-exchange) and stays out, so it
/// does not delay the caller (only a worker preempted in the few instructions between joining and claiming an item
/// can), and everything a join decides on is in the word it swaps, so a join can never straddle two jobs. The job
/// description and the next-item counter are written by the caller before the word is published and are stable
/// while any worker is inside.
/// </para>
/// <para>
/// Waiting. Between jobs a worker spins (<see cref="WorkerSpins"/> rounds of <see cref="Thread.SpinWait(int)"/>,
/// about a millisecond: the native pool's 20000 pauses) watching the generation, then parks on a monitor. A worker
/// whose index is not below the latest job's team size (<see cref="Runtime.Threads"/> was lowered) does not spin: it
/// parks until a job wants it. See <see cref="Publish"/> for the wake-up rule and why no wake-up is lost.
/// </para>
/// <para>
/// Errors. An exception thrown by a body on any thread is captured (the first one wins), the remaining items are
/// skipped, and once the job is over it is rethrown on the caller with its original stack trace; the pool stays
/// usable.
/// </para>
/// </remarks>
internal static unsafe class ManagedWorkerPool
{
    /// <summary>Most workers (Runtime.Threads' limit of 256, less the caller); the active count and the team size
    /// fit in 8 bits of the state word.</summary>
    public const int MaxWorkers = 255;

    /// <summary>Rounds of Thread.SpinWait(1) a worker watches for a new job before it parks. One round is
    /// normalised by the runtime to ~35-50 ns, so 20000 rounds are ~1 ms: the order of the native pool's 20000
    /// pause instructions (NG_SPIN_WORKER; ~0.5 ms on a Zen core, ~1 ms on recent Intel cores).</summary>
    private const int WorkerSpins = 20000;

    /// <summary>Rounds of Thread.SpinWait(1) between yields while the caller waits for the workers to leave a
    /// closed job (the native NG_SPIN_MAIN).</summary>
    private const int CallerSpins = 4000;

    private const long ActiveMask = 0xFF;
    private const int LimitShift = 8;
    private const int TeamShift = 16;
    private const long ClosedBit = 1L << 24;
    private const int GenerationShift = 32;

    private const string WorkerName = "NativeGrad managed worker";

    /// <summary>The two words every thread touches during a job, each on a cache line of its own: the state word
    /// (read by spinning workers, swapped on joins and leaves) and the next-item counter (swapped on every claim).</summary>
    [StructLayout(LayoutKind.Explicit, Size = 3 * CacheLine)]
    private struct SharedWords
    {
        private const int CacheLine = 64;

        /// <summary>generation | closed | team | limit | active (see the class remarks).</summary>
        [FieldOffset(CacheLine)] public long State;

        /// <summary>The first unclaimed item of the current job.</summary>
        [FieldOffset(2 * CacheLine)] public long Next;
    }

    private static SharedWords _words;

    /// <summary>1 while a call owns the pool (a job is being set up, run or closed, or workers are being started).</summary>
    private static int _busy;

    // The current job: written by the caller before the state word is published, read by the workers after they
    // joined (so they see this job's values), constant while any worker is inside.
    private static void* _body;
    private static delegate*<void*, long, void> _invoke;
    private static long _count;
    private static long _shares; // a claim takes (count - next) / _shares items, at least one

    /// <summary>The first exception a body threw in the current job.</summary>
    private static ExceptionDispatchInfo? _error;

    /// <summary>Workers started so far (worker i has index i); only the caller holding the pool changes it.</summary>
    private static int _workers;

    /// <summary>The team size of the last published job; only the caller holding the pool reads or writes it.</summary>
    private static int _lastTeam;

    /// <summary>The monitor parked workers wait on.</summary>
    private static readonly object Gate = new();

    /// <summary>Workers parked waiting for any new job (they spun out) that no pulse has woken yet. Changed only
    /// under <see cref="Gate"/>; the caller reads it without the lock to decide whether to pulse, and a pulse
    /// resets it, so a worker that is slow to wake (a busy machine) costs the callers one pulse, not one per job.</summary>
    private static int _sleepers;

    /// <summary>Pulses so far (changed only under <see cref="Gate"/>): a parked worker that sees it change knows
    /// its registration in <see cref="_sleepers"/> was used up.</summary>
    private static long _wakeRound;

    /// <summary>Workers parked waiting for a job whose team includes them (the last job they saw did not). Changed
    /// only under <see cref="Gate"/>.</summary>
    private static int _surplusSleepers;

    /// <summary>
    /// Runs body.Invoke(0..count-1) on the caller and up to threads - 1 workers, then returns true; returns false
    /// without running anything when the pool is in use (the caller then runs the loop inline). Rethrows the first
    /// exception a body threw, after the job is over.
    /// </summary>
    public static bool TryRun<TBody>(long count, int threads, ref TBody body) where TBody : struct, IParallelBody
    {
        if (Volatile.Read(ref _busy) != 0 || Interlocked.CompareExchange(ref _busy, 1, 0) != 0) return false;
        ExceptionDispatchInfo? error;
        try
        {
            int team = Math.Min(threads - 1, MaxWorkers);
            if (_workers < team) StartWorkers(team);
            fixed (byte* p = &Unsafe.As<TBody, byte>(ref body)) error = RunJob(count, team, p, &Invoke<TBody>);
        }
        finally
        {
            Volatile.Write(ref _busy, 0);
        }
        error?.Throw();
        return true;
    }

    /// <summary>The job's entry point for one item: calls the body struct <paramref name="body"/> points to, as the
    /// type it is (one instantiation per body type, reached through a function pointer: no delegate).</summary>
    private static void Invoke<TBody>(void* body, long item) where TBody : struct, IParallelBody
        => Unsafe.AsRef<TBody>(body).Invoke(item);

    /// <summary>Publishes a job, runs items until none is left, closes the job and waits for the workers inside it
    /// to leave. Called holding the pool. Returns the job's first exception (and forgets it).</summary>
    private static ExceptionDispatchInfo? RunJob(long count, int team, void* body, delegate*<void*, long, void> invoke)
    {
        _body = body;
        _invoke = invoke;
        _count = count;
        int limit = (int)Math.Min(team, count - 1);
        _shares = 2 * (limit + 1);
        _words.Next = 0; // no worker is inside a job: the previous caller waited for them all to leave
        Publish(team, limit);
        RunItems();

        // Close: from here no worker can join. Then wait for those inside to finish their last item and leave.
        long s = Interlocked.Or(ref _words.State, ClosedBit);
        int spins = 0;
        while ((s & ActiveMask) != 0)
        {
            if (++spins < CallerSpins) Thread.SpinWait(1);
            else
            {
                Thread.Yield();
                spins = 0;
            }
            s = Volatile.Read(ref _words.State);
        }
        ExceptionDispatchInfo? error = _error;
        _error = null;
        _body = null;
        _invoke = null;
        return error;
    }

    /// <summary>
    /// Starts the next generation (open, no worker inside) and wakes the parked workers that may join it.
    /// </summary>
    /// <remarks>
    /// No lost wake-up. A worker parks holding <see cref="Gate"/>: it registers (an interlocked increment of
    /// <see cref="_sleepers"/>, or of <see cref="_surplusSleepers"/>), then re-reads the state word, and calls
    /// Monitor.Wait only if the word still shows no job for it; it lets go of the lock only inside Monitor.Wait.
    /// The caller swaps the new word in with an interlocked exchange, then reads the counts. Each side writes, full
    /// fence, reads, so at least one sees the other's write: either the worker sees the new job and does not wait,
    /// or the caller sees the registration and pulses under the same lock, which it can only take once the worker
    /// is inside Monitor.Wait (or gone). The registration is still there when the caller reads it: only the worker
    /// itself (when it leaves with a job) or a pulse removes it, and a worker woken by a pulse finds
    /// <see cref="_wakeRound"/> changed and registers again before it re-reads the word, so the registration that
    /// preceded its last read is always intact. A surplus worker (index &gt;= the team of the job it saw) waits for
    /// a job with a larger team than its index; the first such job follows one whose team was at most its index, so
    /// that job's team exceeds <see cref="_lastTeam"/>, which is when the caller looks at the surplus count (surplus
    /// registrations are only removed by their workers).
    /// </remarks>
    private static void Publish(int team, int limit)
    {
        long generation = (Volatile.Read(ref _words.State) >>> GenerationShift) + 1; // wraps after 2^32 jobs: harmless
        Interlocked.Exchange(ref _words.State, (generation << GenerationShift) | ((long)team << TeamShift) | ((long)limit << LimitShift));
        if (Volatile.Read(ref _sleepers) != 0 || (team > _lastTeam && Volatile.Read(ref _surplusSleepers) != 0))
        {
            lock (Gate)
            {
                _sleepers = 0;
                _wakeRound++;
                Monitor.PulseAll(Gate);
            }
        }
        _lastTeam = team;
    }

    /// <summary>Claims runs of items of the current job and runs them until none is left (see the class remarks). A
    /// body's exception is recorded (the first one wins) and ends the job early: the counter is moved past the last
    /// item.</summary>
    private static void RunItems()
    {
        void* body = _body;
        delegate*<void*, long, void> invoke = _invoke;
        long count = _count, shares = _shares;
        try
        {
            for (;;)
            {
                long start = Volatile.Read(ref _words.Next);
                if (start >= count) break;
                long end = start + Math.Max(1, (count - start) / shares);
                if (Interlocked.CompareExchange(ref _words.Next, end, start) != start) continue;
                for (long i = start; i < end; i++) invoke(body, i);
            }
        }
        catch (Exception e)
        {
            Interlocked.CompareExchange(ref _error, ExceptionDispatchInfo.Capture(e), null);
            Interlocked.Exchange(ref _words.Next, count);
        }
    }

    /// <summary>Starts workers up to <paramref name="team"/> (called holding the pool, so no job is running). A new
    /// worker starts from the current generation: the job about to be published is the first it sees.</summary>
    private static void StartWorkers(int team)
    {
        long generation = Volatile.Read(ref _words.State) >>> GenerationShift;
        while (_workers < team)
        {
            int index = _workers;
            var thread = new Thread(() => WorkerLoop(index, generation)) { IsBackground = true, Name = WorkerName };
            thread.UnsafeStart(); // no ExecutionContext captured: the thread outlives the call that started it
            _workers = index + 1;
        }
    }

    /// <summary>A worker's life: wait for a job that wants it, try to join it, repeat.</summary>
    private static void WorkerLoop(int index, long seen)
    {
        for (;;)
        {
            long s = WaitForJob(index, seen);
            seen = s >>> GenerationShift;
            Join(s);
        }
    }

    /// <summary>Returns a state word of a generation other than <paramref name="seen"/> whose team includes worker
    /// <paramref name="index"/>: spins first, then parks (see <see cref="Publish"/>).</summary>
    private static long WaitForJob(int index, long seen)
    {
        long s = 0;
        bool found = false;
        for (int spin = 0; spin < WorkerSpins; spin++)
        {
            s = Volatile.Read(ref _words.State);
            if (s >>> GenerationShift != seen)
            {
                found = true;
                break;
            }
            Thread.SpinWait(1);
        }
        if (!found)
        {
            lock (Gate)
            {
                Interlocked.Increment(ref _sleepers);
                long round = _wakeRound;
                while ((s = Volatile.Read(ref _words.State)) >>> GenerationShift == seen)
                {
                    Monitor.Wait(Gate);
                    if (_wakeRound != round) // a pulse used up the registration: register again before re-reading
                    {
                        Interlocked.Increment(ref _sleepers);
                        round = _wakeRound;
                    }
                }
                if (_wakeRound == round) Interlocked.Decrement(ref _sleepers); // leaving with a job: withdraw
            }
        }
        if (Team(s) > index) return s;

        // Not wanted by this job (Runtime.Threads was lowered): sleep until a job with a larger team, not spinning.
        lock (Gate)
        {
            Interlocked.Increment(ref _surplusSleepers);
            while (Team(s = Volatile.Read(ref _words.State)) <= index) Monitor.Wait(Gate);
            Interlocked.Decrement(ref _surplusSleepers);
        }
        return s;
    }

    /// <summary>Joins the job of state word <paramref name="s"/> if it is still open and has room, runs items, leaves.</summary>
    private static void Join(long s)
    {
        long generation = s >>> GenerationShift;
        for (;;)
        {
            if (s >>> GenerationShift != generation || (s & ClosedBit) != 0 || (s & ActiveMask) >= Limit(s)) return;
            long was = Interlocked.CompareExchange(ref _words.State, s + 1, s);
            if (was == s) break;
            s = was;
        }
        RunItems();
        Interlocked.Decrement(ref _words.State); // active - 1: the generation cannot change while this worker is inside
    }

    private static int Team(long s) => (int)(s >> TeamShift) & 0xFF;

    private static long Limit(long s) => (s >> LimitShift) & 0xFF;
}
