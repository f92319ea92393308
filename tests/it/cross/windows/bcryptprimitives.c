/* A stand-in for Windows 10's bcryptprimitives.dll, which Wine 8 lacks.
 *
 * Rust's std (1.78 and later) takes its randomness, for HashMap keys among others, from
 * ProcessPrng in bcryptprimitives.dll; without the DLL a Rust program cannot start under
 * Wine 8. This one forwards to RtlGenRandom (advapi32's SystemFunction036), which Wine has.
 * Used only by tests/windows.rs, which builds it with x86_64-w64-mingw32-gcc into the test's
 * private Wine prefix. Never shipped. */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length);

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0x40000000 ? 0x40000000 : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            return FALSE;
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
