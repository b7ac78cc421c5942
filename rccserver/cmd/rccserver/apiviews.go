package main

import (
	"github.com/rccserver/rccserver/rccserver/api"
	"github.com/rccserver/rccserver/rccserver/callcontrol"
)

// apiViews gives the API the stations and sessions, as the admin views do.
type apiViews struct{ d *daemon }

func (v apiViews) Stations() []api.StationInfo {
	out := []api.StationInfo{}
	for _, st := range v.d.logins.Config().Stations {
		u, _ := v.d.logins.StationHolder(st.Name)
		out = append(out, api.StationInfo{Extension: st.Extension, Name: st.Name, User: u})
	}
	return out
}

func (v apiViews) Sessions() []api.SessionInfo {
	out := []api.SessionInfo{}
	for _, s := range v.d.rcc.Sessions() {
		g := s.Grant()
		si := api.SessionInfo{Ref: s.Ref(), User: s.User(), Line: s.Line(), Account: g.Account, Status: g.Status.String(), Peer: s.Peer()}
		if ln, ok := g.Value.(*callcontrol.Line); ok && ln != nil {
			si.Station = ln.Ext
		}
		out = append(out, si)
	}
	return out
}
