package discovery

import (
	"slices"
	"strconv"
	"strings"
)

// poolZoneLabel returns the pool's zone label for a lower-case country
// code: the ISO code, except the United Kingdom's zone, which is "uk".
func poolZoneLabel(cc string) string {
	if cc == "gb" {
		return "uk"
	}
	return cc
}

// order returns the first n numbers to use in a zone, the IPv6 one (2)
// first: it is the only name that also returns IPv6 addresses, so a zone
// cut short by PoolNames or the cap still offers both address families.
func (p poolZones) order(n int) []int {
	out := []int{p.IPv6Number}
	for _, num := range p.Numbers {
		if num != p.IPv6Number {
			out = append(out, num)
		}
	}
	return out[:min(n, len(out))]
}

// names returns the candidates of one zone ("" for the global zone):
// N.zone.pool.ntp.org, or N.pool.ntp.org.
func (p poolZones) names(zone string, n int) []Candidate {
	var out []Candidate
	for _, num := range p.order(n) {
		name := strconv.Itoa(num) + "." + p.Domain
		if zone != "" {
			name = strconv.Itoa(num) + "." + zone + "." + p.Domain
		}
		out = append(out, Candidate{Name: name, Port: DefaultPort, Origin: OriginPool, Zone: zone,
			Operator: p.Operator, IPv6: num == p.IPv6Number, Pool: true})
	}
	return out
}

// describe recognises a pool name from any list: the domain itself or any
// name under it (country, continent and vendor zones alike).
func (p poolZones) describe(name string) (Candidate, bool) {
	if p.Domain == "" || (name != p.Domain && !strings.HasSuffix(name, "."+p.Domain)) {
		return Candidate{}, false
	}
	c := Candidate{Name: name, Operator: p.Operator, Pool: true}
	labels := strings.Split(strings.TrimSuffix(strings.TrimSuffix(name, p.Domain), "."), ".")
	if labels[0] == strconv.Itoa(p.IPv6Number) {
		c.IPv6 = true
	}
	if len(labels) == 2 {
		zone := labels[1]
		_, country := countryContinent[strings.ToUpper(zone)]
		if zone == "uk" || (country && zone != "gb") || slices.Contains(p.Continents, zone) {
			c.Zone = zone
		}
	}
	return c, true
}
