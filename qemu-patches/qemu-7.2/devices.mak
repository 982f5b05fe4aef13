# Devices of the xoffload TCG guest (examples/vm/run-vm), nothing else:
# used with --without-default-devices (qemu-patches/build).
CONFIG_I440FX=y
CONFIG_VIRTIO_PCI=y
CONFIG_VIRTIO_NET=y
CONFIG_VIRTIO_SERIAL=y
CONFIG_SERIAL_ISA=y
