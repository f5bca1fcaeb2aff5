// Package deploy holds no code: it is the directory of the files that
// install and run ntp-optimizer — the systemd units (systemd/, rendered by
// package schedule), the Debian package (nfpm.yaml, debian/ maintainer
// scripts, built by scripts/deb.sh), the example configuration and the
// Ansible role (ansible/). Its tests build and check them: the .deb with
// dpkg-deb, lintian --pedantic, a dpkg install, upgrade and purge in a
// temporary root and the sort order of its versions; "make install" and
// "make uninstall" into a DESTDIR; and the role with ansible-playbook.
package deploy
