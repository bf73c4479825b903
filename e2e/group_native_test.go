//go:build !js

package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/matryer/is"
	"maunium.net/go/mautrix/id"

	"ringo/app"
	"ringo/e2e/stack"
	"ringo/signalling"
)

// Three app controllers (native pion) join a group call in a room on the real
// homeserver: member state events and to-device signalling connect every pair; one
// leaves and the others drop its leg; it comes back with a new session and is
// reconnected with everyone.
func TestNativeGroupCallOfThree(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var users []*stack.User
	for _, n := range []string{"ga", "gb", "gc"} {
		u, err := hs.Register(ctx, uniqueName(n), "G"+uniqueName(""))
		is.NoErr(err)
		users = append(users, u)
	}
	room, err := hs.CreateRoom(ctx, users[0], users[1], users[2])
	is.NoErr(err)
	is.NoErr(hs.Join(ctx, users[1], room))
	is.NoErr(hs.Join(ctx, users[2], room))

	var parties []*nativeParty
	for _, u := range users {
		parties = append(parties, startNative(ctx, t, u, false))
	}
	for _, p := range parties {
		p := p
		waitFor(t, 20*time.Second, p.user.DeviceID+" to see all members", func() bool {
			for _, r := range p.ctl.Snapshot().Rooms {
				if string(r.ID) == room && len(r.Joined(id.UserID(p.user.UserID))) == 2 {
					return true
				}
			}
			return false
		})
	}
	connectedLegs := func(p *nativeParty) int {
		g, ok := p.ctl.Group()
		if !ok {
			return -1
		}
		n := 0
		for _, l := range g.Legs {
			if l.Call.State == signalling.StateConnected {
				n++
			}
		}
		return n
	}
	for _, p := range parties {
		is.NoErr(p.ctl.JoinGroup(id.RoomID(room), signalling.MediaKindVoice))
	}
	for _, p := range parties {
		p := p
		waitFor(t, 30*time.Second, p.user.DeviceID+" connected to both others", func() bool { return connectedLegs(p) == 2 })
	}
	g, _ := parties[0].ctl.Group()
	for _, p := range parties[1:] {
		g2, _ := p.ctl.Group()
		is.Equal(g2.Conf, g.Conf) // everyone joined the same conference
	}

	// The third leaves: the others keep one leg each.
	is.NoErr(parties[2].ctl.LeaveGroup())
	for _, p := range parties[:2] {
		p := p
		waitFor(t, 30*time.Second, p.user.DeviceID+" to drop the leg of the one who left", func() bool {
			g, _ := p.ctl.Group()
			return len(g.Legs) == 1 && connectedLegs(p) == 1
		})
	}
	// It rejoins (a new session): reconnected with everyone.
	is.NoErr(parties[2].ctl.JoinGroup(id.RoomID(room), signalling.MediaKindVoice))
	for _, p := range parties {
		p := p
		waitFor(t, 30*time.Second, fmt.Sprintf("%s reconnected with both", p.user.DeviceID), func() bool { return connectedLegs(p) == 2 })
	}
	for _, p := range parties {
		is.NoErr(p.ctl.LeaveGroup())
	}
}

// A room whose power levels keep call state at level 50 (Dendrite's default): joining
// says so plainly; a member cannot fix it, the room admin can, and then the call works.
func TestGroupCallNeedsPowerLevelsAndTheAdminCanFixThem(t *testing.T) {
	is := is.New(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	admin, err := hs.Register(ctx, uniqueName("pla"), "PLA"+uniqueName(""))
	is.NoErr(err)
	member, err := hs.Register(ctx, uniqueName("plb"), "PLB"+uniqueName(""))
	is.NoErr(err)
	var created struct {
		RoomID string `json:"room_id"`
	}
	is.NoErr(hs.Do(ctx, admin, "POST", "/_matrix/client/v3/createRoom", map[string]any{"preset": "private_chat", "invite": []string{member.UserID}}, &created))
	room := created.RoomID
	is.NoErr(hs.Join(ctx, member, room))
	a := startNative(ctx, t, admin, false)
	b := startNative(ctx, t, member, false)
	for _, p := range []*nativeParty{a, b} {
		p := p
		waitFor(t, 20*time.Second, "the room", func() bool {
			for _, r := range p.ctl.Snapshot().Rooms {
				if string(r.ID) == room && len(r.Joined(id.UserID(p.user.UserID))) == 1 {
					return true
				}
			}
			return false
		})
	}
	err = b.ctl.JoinGroup(id.RoomID(room), signalling.MediaKindVoice)
	is.True(errors.Is(err, app.ErrGroupForbidden))
	is.True(!b.ctl.CanFixGroupPowerLevels(id.RoomID(room))) // a member may not
	is.True(a.ctl.CanFixGroupPowerLevels(id.RoomID(room)))  // the admin may
	is.NoErr(a.ctl.FixGroupPowerLevels(id.RoomID(room)))
	is.NoErr(a.ctl.JoinGroup(id.RoomID(room), signalling.MediaKindVoice))
	is.NoErr(b.ctl.JoinGroup(id.RoomID(room), signalling.MediaKindVoice))
	for _, p := range []*nativeParty{a, b} {
		p := p
		waitFor(t, 30*time.Second, "connected", func() bool {
			g, _ := p.ctl.Group()
			return len(g.Legs) == 1 && g.Legs[0].Call.State == signalling.StateConnected
		})
	}
}
