# The systrap platform's stub (kernel/platform/systrap/stub.go holds its
# bytes; TestStubCodeMatchesSource checks them against this file).
# Assemble with: as --64 -o stub.o stub.S
	.set STUB, 0x7ff000000000
	.set SLOT, 0x10000
	.set ST_STATE, 0
	.set ST_KSLEEP, 4
	.set ST_SSLEEP, 8
	.set ST_SPIN, 12
	.set ST_INFO, 16
	.set ST_UC, 24
	.set ST_FSBASE, 32
	.set ST_GSBASE, 40
	.set ST_ALTSTACK, 48
	.set EVENT, 1
	.set RUNNING, 2
	.set EXIT, 3
	.text
	.globl _start
_start:
entry:
	# munmap(0, STUB)
	mov $11, %eax
	xor %edi, %edi
	movabs $STUB, %rsi
	syscall
	test %rax, %rax
	jne fail
	# munmap(STUB+0x1000, top-STUB-0x1000)
	mov $11, %eax
	movabs $STUB+0x1000, %rdi
	movabs $0x7ffffffff000-STUB-0x1000, %rsi
	syscall
	test %rax, %rax
	jne fail
	# prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
	mov $157, %eax
	mov $38, %edi
	mov $1, %esi
	xor %edx, %edx
	xor %r10d, %r10d
	xor %r8d, %r8d
	syscall
	test %rax, %rax
	jne fail
	# capset(&caphdr, &capdata): no capability, whatever the
	# kernel process still had when it started the stub.
	mov $126, %eax
	lea caphdr(%rip), %rdi
	lea capdata(%rip), %rsi
	syscall
	test %rax, %rax
	jne fail
	# every signal but SIGKILL and SIGSTOP: the handled ones to handler,
	# the rest ignored.
	mov $1, %r12d
sigloop:
	cmp $9, %r12d
	je signext
	cmp $19, %r12d
	je signext
	lea ignact(%rip), %rsi
	mov handled(%rip), %rbx
	lea -1(%r12), %ecx
	bt %rcx, %rbx
	jnc 1f
	lea act(%rip), %rsi
1:	mov $13, %eax
	mov %r12d, %edi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	test %rax, %rax
	jne fail
signext:
	inc %r12d
	cmp $65, %r12d
	jne sigloop
	# rt_sigprocmask(SIG_BLOCK, &allmask, NULL, 8): the master thread
	# takes no signal.
	mov $14, %eax
	xor %edi, %edi
	lea allmask(%rip), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	test %rax, %rax
	jne fail
	# seccomp(SECCOMP_SET_MODE_FILTER, 0, &baseprog)
	mov $317, %eax
	mov $1, %edi
	xor %esi, %esi
	lea baseprog(%rip), %rdx
	syscall
	test %rax, %rax
	jne fail
ready:
	int3
syscallSite:
	syscall
	int3
	jmp syscallSite
processCloneSite:
	syscall
	test %rax, %rax
	je pauseLoop
	int3
	jmp syscallSite
pauseLoop:
	mov $34, %eax
	syscall
	jmp pauseLoop
threadCloneSite:
	syscall
	test %rax, %rax
	je threadInit
	int3
	jmp syscallSite
threadInit:
	# r12: the thread's slot. sigaltstack(&slot.altstack, NULL)
	mov $131, %eax
	lea ST_ALTSTACK(%r12), %rdi
	xor %esi, %esi
	syscall
	test %rax, %rax
	jne fail
	# rt_sigprocmask(SIG_SETMASK, &zeromask, NULL, 8)
	mov $14, %eax
	mov $2, %edi
	lea zeromask(%rip), %rsi
	xor %edx, %edx
	mov $8, %r10d
	syscall
	test %rax, %rax
	jne fail
	# seccomp(SECCOMP_SET_MODE_FILTER, 0, &threadprog)
	mov $317, %eax
	mov $1, %edi
	xor %esi, %esi
	lea threadprog(%rip), %rdx
	syscall
	test %rax, %rax
	jne fail
initTrap:
	syscall
	ud2

	.p2align 4
handler:
	mov %rsp, %rax
	and $-SLOT, %rax
	mov %rsi, ST_INFO(%rax)
	mov %rdx, ST_UC(%rax)
	rdfsbase %rcx
	mov %rcx, ST_FSBASE(%rax)
	rdgsbase %rcx
	mov %rcx, ST_GSBASE(%rax)
	mov $EVENT, %ecx
	xchg %ecx, ST_STATE(%rax)
	cmpl $0, ST_KSLEEP(%rax)
	je wait
	mov %rax, %r12
	mov %rax, %rdi
	mov $1, %esi
	mov $1, %edx
	mov $202, %eax
wakeSite:
	syscall
	mov %r12, %rax
	# The kernel's thread was asleep and may now be placed on this
	# CPU: spinning would keep it off. Sleep at once.
	jmp sleep
wait:
	# Spin while the count is below ST_SPIN, read at every round: the
	# kernel sets it to 0 when the call it serves is going to block.
	xor %ecx, %ecx
spin:
	cmpl $EVENT, ST_STATE(%rax)
	jne resumed
	cmp ST_SPIN(%rax), %ecx
	jae sleep
	inc %ecx
	pause
	jmp spin
sleep:
	mov $1, %ecx
	xchg %ecx, ST_SSLEEP(%rax)
	cmpl $EVENT, ST_STATE(%rax)
	jne resumed
	mov %rax, %r12
	mov %rax, %rdi
	xor %esi, %esi
	mov $EVENT, %edx
	xor %r10d, %r10d
	mov $202, %eax
waitSite:
	syscall
	mov %r12, %rax
	jmp sleep
resumed:
	movl $0, ST_SSLEEP(%rax)
	cmpl $EXIT, ST_STATE(%rax)
	je exit
	mov ST_FSBASE(%rax), %rcx
	wrfsbase %rcx
	mov ST_GSBASE(%rax), %rcx
	wrgsbase %rcx
	add $8, %rsp
	mov $15, %eax
sigreturnSite:
	syscall
	ud2
exit:
	mov $60, %eax
	xor %edi, %edi
exitSite:
	syscall
restorer:
	ud2
fail:
	ud2
	.p2align 3
handled:
	.quad 0
allmask:
	.quad -1
zeromask:
	.quad 0
act:
	.quad 0, 0, 0, 0
ignact:
	.quad 0, 0, 0, 0
baseprog:
	.quad 0, 0
threadprog:
	.quad 0, 0
caphdr:
	.long 0x20080522, 0
capdata:
	.long 0, 0, 0, 0, 0, 0
end:
